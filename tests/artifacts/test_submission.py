"""A worker submits a check of the job it holds: 202 with the check pending, the row
written, and the check task asked for once the row is committed."""

import pytest
from rest_framework.test import APIClient

from artifacts.models import ArtifactGateCheck
from config.celery import app
from tests.artifacts.conftest import CHECKS, client_for
from tests.factories import WorkerFactory, artifact_check_body, held_job

pytestmark = pytest.mark.django_db

GOOD = "https://artifacts.example.com/builds/1/index.html"


def queued_check_ids() -> list[int]:
    """Check ids waiting in the broker's ``artifacts`` queue (read off it)."""
    ids = []
    with app.connection_for_read() as connection:
        queue = connection.SimpleQueue("artifacts")
        try:
            while True:
                message = queue.get(block=True, timeout=0.2)
                assert message.headers["task"] == "artifacts.tasks.artifact_check_run"
                ids.append(message.decode()[0][0])
                message.ack()
        except queue.Empty:
            pass
        finally:
            queue.close()
    return ids


def test_a_submitted_check_is_pending_and_its_task_is_queued_after_commit(
    worker, job, submit, django_capture_on_commit_callbacks
):
    queued_check_ids()  # whatever earlier tests left in the queue
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        body = submit(
            job,
            GOOD,
            {"url": "https://artifacts.example.com/builds/1/app.zip", "sha256": "AB" * 32},
            {"url": "https://artifacts.example.com/builds/1/notes.txt"},
        )

    assert callbacks, "the task is asked for only once the row is committed"
    assert body["status"] == "pending"
    assert body["job"] == job.external_id
    assert body["worker"] == worker.name
    assert body["results"] == [] and body["failing_url"] is None
    check = ArtifactGateCheck.objects.get(pk=body["id"])
    assert check.status == ArtifactGateCheck.Status.PENDING
    assert check.upload_files == [
        {"url": "https://artifacts.example.com/builds/1/app.zip", "sha256": "ab" * 32},
        {"url": "https://artifacts.example.com/builds/1/notes.txt"},
    ]
    assert queued_check_ids() == [check.pk]


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://artifacts.example.com/app.zip",
        "gopher://artifacts.example.com/",
        "javascript:alert(1)",
        "artifacts.example.com/index.html",
    ],
)
def test_a_url_that_is_not_http_or_https_is_refused_at_submission(job, submit, url):
    body = submit(job, url, expect=400)

    assert body["type"].endswith("/validation-error")
    (error,) = body["errors"]
    assert error["pointer"] == "#/primary_url"
    assert "only http and https" in error["detail"]
    assert not ArtifactGateCheck.objects.exists()


def test_an_upload_with_another_scheme_is_refused_with_its_pointer(job, submit):
    body = submit(job, GOOD, {"url": GOOD}, {"url": "file:///etc/shadow"}, expect=400)

    assert [error["pointer"] for error in body["errors"]] == ["#/upload_files/1/url"]


def test_a_malformed_sha256_is_refused_with_its_pointer(job, submit):
    body = submit(job, GOOD, {"url": GOOD, "sha256": "not-a-hash"}, expect=400)

    assert [error["pointer"] for error in body["errors"]] == ["#/upload_files/0/sha256"]


def test_credentials_in_a_url_are_refused(job, submit):
    body = submit(job, "https://user:hunter2@artifacts.example.com/x", expect=400)

    assert body["errors"][0]["pointer"] == "#/primary_url"
    assert "Credentials" in body["errors"][0]["detail"]


def test_too_many_upload_files_are_refused(job, submit, settings):
    settings.ARTIFACT_MAX_UPLOADS = 2
    uploads = [{"url": f"{GOOD}?n={n}"} for n in range(3)]

    body = submit(job, GOOD, *uploads, expect=400)

    assert body["errors"][0]["pointer"] == "#/upload_files"


def test_a_missing_primary_url_is_a_field_error(job, worker_client):
    response = worker_client.post(CHECKS, {"job": job.external_id}, format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["pointer"] == "#/primary_url"


def test_an_unknown_job_is_a_field_error_naming_it(worker_client):
    response = worker_client.post(
        CHECKS, {"job": "NO-SUCH-JOB", "primary_url": GOOD}, format="json"
    )

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["pointer"] == "#/job"
    assert "NO-SUCH-JOB" in error["detail"]


def test_only_the_jobs_holder_submits_a_check_for_it(worker, job, submit):
    other = WorkerFactory()

    body = submit(job, GOOD, client=client_for(other), expect=403)

    assert body["type"].endswith("/not-the-holder")
    assert job.external_id in body["detail"]
    assert not ArtifactGateCheck.objects.exists()


def test_a_check_of_a_completed_job_is_refused(worker, submit):
    done = held_job(worker)
    done.status = "completed"
    done.save(update_fields=["status"])

    body = submit(done, GOOD, expect=409)

    assert body["type"].endswith("/job-state")


def test_people_do_not_submit_checks(owner, job, session_client):
    response = session_client(owner).post(CHECKS, artifact_check_body(job, GOOD), format="json")

    assert response.status_code == 403
    assert not ArtifactGateCheck.objects.exists()


def test_an_anonymous_caller_is_refused(job):
    response = APIClient().post(CHECKS, artifact_check_body(job, GOOD), format="json")

    assert response.status_code in (401, 403)
