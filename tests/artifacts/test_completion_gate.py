"""POST /api/v1/jobs/{external_id}/complete: the holder completes its job only if the job's
latest artifact check passed; otherwise 409 ``artifact_guard`` with the reason, and the
refusal is recorded as a ``completion_blocked`` event."""

import pytest

from artifacts.models import ArtifactGateCheck
from core.problems import PROBLEM_BASE
from repairs.models import Gate, Job, RepairEvent, Worker
from tests.artifacts.conftest import client_for
from tests.factories import WorkerFactory, held_job

pytestmark = pytest.mark.django_db

GUARD_TYPE = PROBLEM_BASE + "artifact_guard"


def complete(client, job: Job):
    return client.post(f"/api/v1/jobs/{job.external_id}/complete")


def blocked_events(job: Job) -> list[RepairEvent]:
    return list(
        RepairEvent.objects.filter(
            gate=Gate.ARTIFACT_GUARD, error_class="completion_blocked", job_ref=job.external_id
        )
    )


def assert_still_claimed(job: Job) -> None:
    job.refresh_from_db()
    assert job.status == Job.Status.CLAIMED
    assert job.completed_at is None


def test_completion_without_a_check_is_refused(worker_client, job):
    response = complete(worker_client, job)

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == GUARD_TYPE
    assert problem["guard"] == "no_check"
    assert problem["check"] is None
    assert "has no artifact check" in problem["detail"]
    assert_still_claimed(job)
    (event,) = blocked_events(job)
    assert "has no artifact check" in event.message
    assert event.proposal_id is None


@pytest.mark.parametrize("status", ["pending", "running"])
def test_completion_with_a_check_still_under_way_is_refused(
    worker_client, job, submit, artifact_server, status
):
    body = submit(job, artifact_server.url_for("/index.html"))
    ArtifactGateCheck.objects.filter(pk=body["id"]).update(status=status)

    response = complete(worker_client, job)

    assert response.status_code == 409
    problem = response.json()
    assert problem["type"] == GUARD_TYPE
    assert problem["guard"] == status
    assert problem["check"] == body["id"]
    assert f"still {status}" in problem["detail"]
    assert_still_claimed(job)
    assert len(blocked_events(job)) == 1


def test_completion_after_a_failed_check_is_refused_with_the_failing_url(
    worker_client, job, checked, artifact_server
):
    artifact_server.expect_request("/index.html").respond_with_data("ok")
    artifact_server.expect_request("/app.zip").respond_with_data("gone", status=404)
    check = checked(
        job, artifact_server.url_for("/index.html"), {"url": artifact_server.url_for("/app.zip")}
    )

    response = complete(worker_client, job)

    assert response.status_code == 409
    problem = response.json()
    assert problem["type"] == GUARD_TYPE
    assert problem["guard"] == "failed"
    assert problem["check"] == check.pk
    assert problem["failing_url"] == artifact_server.url_for("/app.zip")
    assert "answered HTTP 404" in problem["reason"]
    assert artifact_server.url_for("/app.zip") in problem["detail"]
    assert_still_claimed(job)
    (event,) = blocked_events(job)
    assert artifact_server.url_for("/app.zip") in event.evidence


def test_completion_after_a_passed_check_completes_the_job_and_frees_the_worker(
    worker, worker_client, job, checked, artifact_server
):
    artifact_server.expect_request("/index.html").respond_with_data("ok")
    check = checked(job, artifact_server.url_for("/index.html"))
    assert check.status == "passed"

    response = complete(worker_client, job)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["external_id"] == job.external_id
    assert body["status"] == "completed"
    assert body["artifact_check"] == check.pk
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED and job.completed_at is not None
    assert job.lease_expires_at is None
    worker.refresh_from_db()
    assert worker.status == Worker.Status.IDLE
    assert blocked_events(job) == []


def test_only_the_latest_check_counts(worker_client, job, checked, artifact_server):
    artifact_server.expect_request("/good").respond_with_data("ok")
    artifact_server.expect_request("/bad").respond_with_data("no", status=500)
    checked(job, artifact_server.url_for("/good"))
    checked(job, artifact_server.url_for("/bad"))

    response = complete(worker_client, job)

    assert response.status_code == 409
    assert response.json()["failing_url"] == artifact_server.url_for("/bad")


def test_a_check_that_errored_blocks_completion(worker_client, job, submit):
    body = submit(job, "https://artifacts.example.com/index.html")
    ArtifactGateCheck.objects.filter(pk=body["id"]).update(
        status="error", reason="the check itself failed"
    )

    response = complete(worker_client, job)

    assert response.status_code == 409
    assert response.json()["guard"] == "error"


def test_a_previous_holders_passed_check_does_not_let_the_new_holder_complete(
    worker, job, checked, artifact_server
):
    artifact_server.expect_request("/index.html").respond_with_data("ok")
    checked(job, artifact_server.url_for("/index.html"))
    successor = WorkerFactory()
    Job.objects.filter(pk=job.pk).update(claimed_by=successor)

    response = complete(client_for(successor), job)

    assert response.status_code == 409
    assert response.json()["guard"] == "other_worker"


def test_a_worker_that_does_not_hold_the_job_gets_the_holder_problem(worker_client):
    other = WorkerFactory()
    theirs = held_job(other)

    response = complete(worker_client, theirs)

    assert response.status_code == 403
    assert response.json()["type"].endswith("/not-the-holder")
    assert blocked_events(theirs) == []
    theirs.refresh_from_db()
    assert theirs.status == Job.Status.CLAIMED


def test_completing_an_unknown_job_is_404(worker_client):
    response = worker_client.post("/api/v1/jobs/NO-SUCH-JOB/complete")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_people_do_not_complete_jobs(owner, job, session_client):
    response = session_client(owner).post(f"/api/v1/jobs/{job.external_id}/complete")

    assert response.status_code == 403
    assert_still_claimed(job)
