"""POST /jobs/{id}/claim: one job to one worker; the holder renews; a claim of a job nobody
registered is itself a stuck claim."""

from datetime import timedelta

import pytest
from django.utils import timezone

from policies.models import Proposal
from repairs.models import Job, RepairEvent, Worker
from tests.factories import JobFactory, WorkerFactory, client_for, job_claimed_by

pytestmark = pytest.mark.django_db


def claim(client, external_id: str):
    return client.post(f"/api/v1/jobs/{external_id}/claim")


def test_a_worker_claims_an_open_job_with_a_lease(worker_client, worker, settings):
    JobFactory(external_id="PLS-1")

    response = claim(worker_client, "PLS-1")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["holder"], body["attempts"]) == ("claimed", worker.name, 1)
    job = Job.objects.get(external_id="PLS-1")
    assert job.lease_expires_at - job.claimed_at == settings.PLS_JOB_LEASE
    assert Worker.objects.get(pk=worker.pk).status == "running"


def test_a_job_another_worker_holds_is_a_409_conflict(worker_client):
    holder = WorkerFactory()
    job_claimed_by(holder, external_id="PLS-1")

    response = claim(worker_client, "PLS-1")

    assert response.status_code == 409
    assert response.json()["type"].endswith("/job-held")
    assert response.json()["holder"] == holder.name
    assert Job.objects.get(external_id="PLS-1").claimed_by == holder


def test_the_holder_claiming_again_renews_its_lease_idempotently(worker_client, worker):
    job = job_claimed_by(worker, external_id="PLS-1")
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() + timedelta(minutes=1))

    response = claim(worker_client, "PLS-1")

    assert response.status_code == 200
    job.refresh_from_db()
    assert job.claimed_by == worker
    assert job.attempts == 1  # a renewal, not a second attempt
    assert job.lease_expires_at > timezone.now() + timedelta(minutes=10)


def test_a_claim_of_an_unknown_job_is_recorded_as_a_stuck_claim_event(worker_client, worker):
    response = claim(worker_client, "NOPE-1")

    assert response.status_code == 404
    problem = response.json()
    event = RepairEvent.objects.get(worker=worker)
    assert (event.gate, event.error_class, event.job_ref) == (
        "stuck_claim",
        "claim_without_job",
        "NOPE-1",
    )
    assert problem["event"] == event.pk
    assert f"#{event.pk}" in problem["detail"]
    assert problem["type"].endswith("/job-not-found")


def test_repeated_claims_without_a_job_share_a_fingerprint_and_raise_a_repair_proposal(
    worker_client,
):
    claim(worker_client, "NOPE-1")
    claim(worker_client, "NOPE-2")

    events = RepairEvent.objects.filter(gate="stuck_claim", error_class="claim_without_job")
    assert events.values("fingerprint").distinct().count() == 1
    assert Proposal.objects.filter(kind="repair", error_class="claim_without_job").exists()


def test_a_stuck_job_is_not_claimed_but_recovered_by_the_runbook(worker_client):
    job = job_claimed_by(WorkerFactory(), external_id="PLS-1")
    Job.objects.filter(pk=job.pk).update(status="stuck", stuck_at=timezone.now())

    response = claim(worker_client, "PLS-1")

    assert response.status_code == 409
    assert "release" in response.json()["detail"]


def test_another_workers_expired_lease_is_taken_by_reclaim_not_claim(worker_client):
    job_claimed_by(WorkerFactory(), external_id="PLS-1", lease_expired=True)

    response = claim(worker_client, "PLS-1")

    assert response.status_code == 409
    assert "reclaim" in response.json()["detail"]


def test_a_completed_job_cannot_be_claimed(worker_client):
    JobFactory(external_id="PLS-1", status="completed")

    assert claim(worker_client, "PLS-1").status_code == 409


def test_people_do_not_claim_jobs(owner, session_client):
    JobFactory(external_id="PLS-1")

    response = session_client(owner).post("/api/v1/jobs/PLS-1/claim")

    assert response.status_code == 403
    assert Job.objects.get(external_id="PLS-1").status == "open"


def test_a_revoked_token_claims_nothing(worker):
    client = client_for(worker)
    worker.tokens.update(revoked_at=timezone.now())
    JobFactory(external_id="PLS-1")

    assert claim(client, "PLS-1").status_code == 401
