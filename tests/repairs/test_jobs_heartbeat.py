"""POST /jobs/{id}/heartbeat: only the holder renews its lease and records its progress."""

from datetime import timedelta

import pytest
from django.utils import timezone

from repairs.models import Job, Worker
from tests.factories import JobFactory, WorkerFactory, job_claimed_by

pytestmark = pytest.mark.django_db


def heartbeat(client, external_id: str, **body):
    return client.post(f"/api/v1/jobs/{external_id}/heartbeat", body, format="json")


def test_the_holders_heartbeat_renews_the_lease_and_records_progress(worker_client, worker):
    job = job_claimed_by(worker, external_id="PLS-1")
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() + timedelta(seconds=5))

    response = heartbeat(worker_client, "PLS-1", progress="running the test suite (3/5)")

    assert response.status_code == 200, response.content
    job.refresh_from_db()
    assert job.progress == "running the test suite (3/5)"
    assert job.lease_expires_at > timezone.now() + timedelta(minutes=10)
    assert Worker.objects.get(pk=worker.pk).last_heartbeat_at is not None


def test_progress_is_redacted_before_it_is_stored(worker_client, worker):
    job_claimed_by(worker, external_id="PLS-1")

    heartbeat(worker_client, "PLS-1", progress="export GITHUB_TOKEN=ghp_" + "a" * 36)

    assert "ghp_" not in Job.objects.get(external_id="PLS-1").progress


def test_a_heartbeat_without_progress_keeps_the_last_progress(worker_client, worker):
    job_claimed_by(worker, external_id="PLS-1")
    heartbeat(worker_client, "PLS-1", progress="step 1")

    heartbeat(worker_client, "PLS-1")

    assert Job.objects.get(external_id="PLS-1").progress == "step 1"


def test_another_worker_cannot_heartbeat_the_job(worker_client):
    job = job_claimed_by(WorkerFactory(), external_id="PLS-1")

    response = heartbeat(worker_client, "PLS-1", progress="hijack")

    assert response.status_code == 403
    assert response.json()["type"].endswith("/not-the-holder")
    assert Job.objects.get(pk=job.pk).progress == ""


def test_nobody_heartbeats_an_open_job(worker_client):
    JobFactory(external_id="PLS-1")

    assert heartbeat(worker_client, "PLS-1").status_code == 403


def test_a_heartbeat_cannot_revive_a_stuck_claim(worker_client, worker):
    job = job_claimed_by(worker, external_id="PLS-1")
    Job.objects.filter(pk=job.pk).update(status="stuck", stuck_at=timezone.now())

    response = heartbeat(worker_client, "PLS-1", progress="still here")

    assert response.status_code == 409
    assert "release" in response.json()["detail"]


def test_a_heartbeat_on_an_unknown_job_is_404(worker_client):
    assert heartbeat(worker_client, "NOPE").status_code == 404


def test_progress_longer_than_the_limit_is_a_validation_problem(worker_client, worker):
    job_claimed_by(worker, external_id="PLS-1")

    response = heartbeat(worker_client, "PLS-1", progress="x" * 4001)

    assert response.status_code == 400
