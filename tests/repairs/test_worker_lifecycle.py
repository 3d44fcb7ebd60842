"""A worker's status follows its work: running from its claim, idle when it holds nothing,
error when a claim gets stuck, paused until its owner resumes it."""

import pytest

from core.exceptions import NotAllowed
from repairs.exceptions import JobStateConflict, NotHolder
from repairs.models import Job, Worker
from repairs.services import (
    job_claim,
    job_complete,
    job_stuck_claims_detect,
    worker_pause,
    worker_resume,
)
from tests.factories import JobFactory, WorkerFactory, job_claimed_by

pytestmark = pytest.mark.django_db


def status(worker: Worker) -> str:
    return Worker.objects.get(pk=worker.pk).status


def test_a_claim_makes_the_worker_running_and_completing_its_only_job_idle(worker):
    job = job_claimed_by(worker)
    assert status(worker) == "running"

    completed = job_complete(job=job, worker=worker)

    assert completed.status == "completed"
    assert completed.completed_at is not None
    assert completed.lease_expires_at is None
    assert status(worker) == "idle"


def test_a_worker_holding_another_job_stays_running_after_a_completion(worker):
    first, _second = job_claimed_by(worker), job_claimed_by(worker)

    job_complete(job=first, worker=worker)

    assert status(worker) == "running"


def test_completing_twice_answers_the_completed_job(worker):
    job = job_claimed_by(worker)
    first = job_complete(job=job, worker=worker)

    again = job_complete(job=job, worker=worker)

    assert again.completed_at == first.completed_at


def test_only_the_holder_completes(worker):
    job = job_claimed_by(WorkerFactory())

    with pytest.raises(NotHolder):
        job_complete(job=job, worker=worker)
    assert Job.objects.get(pk=job.pk).status == "claimed"


def test_a_stuck_job_is_recovered_before_it_is_completed(worker):
    job = job_claimed_by(worker, lease_expired=True)
    job_stuck_claims_detect()

    with pytest.raises(JobStateConflict):
        job_complete(job=job, worker=worker)


def test_a_stuck_claim_puts_the_worker_in_error_and_a_new_claim_makes_it_running(worker):
    job_claimed_by(worker, lease_expired=True)
    job_stuck_claims_detect()
    assert status(worker) == "error"

    job_claim(worker=worker, external_id=JobFactory().external_id)

    assert status(worker) == "running"


def test_the_owner_pauses_and_resumes_a_worker(worker, owner):
    assert worker_pause(worker=worker, reason="maintenance window", by=owner) is True
    assert (status(worker), Worker.objects.get(pk=worker.pk).paused_reason) == (
        "paused",
        "maintenance window",
    )
    assert worker_pause(worker=worker, reason="again", by=owner) is False

    assert worker_resume(worker=worker, by=owner) is True

    resumed = Worker.objects.get(pk=worker.pk)
    assert (resumed.status, resumed.paused_reason) == ("idle", "")


def test_a_resumed_worker_that_still_holds_a_job_is_running(worker, owner):
    job_claimed_by(worker)
    worker_pause(worker=worker, reason="check", by=owner)

    worker_resume(worker=worker, by=owner)

    assert status(worker) == "running"


def test_a_paused_worker_completes_the_job_it_holds_and_stays_paused(worker, owner):
    job = job_claimed_by(worker)
    worker_pause(worker=worker, reason="check", by=owner)

    job_complete(job=job, worker=worker)

    assert status(worker) == "paused"


@pytest.mark.parametrize("role", ["reviewer", "viewer"])
def test_only_the_owner_pauses_or_resumes(role, request, worker):
    person = request.getfixturevalue(role)

    with pytest.raises(NotAllowed):
        worker_pause(worker=worker, reason="no", by=person)
    with pytest.raises(NotAllowed):
        worker_resume(worker=worker, by=person)
    assert status(worker) == "idle"
