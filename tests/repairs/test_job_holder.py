"""``Job.is_held_by``: the one holder check behind heartbeats, completion, release and the
artifact gate."""

import pytest

from repairs.services import job_complete
from tests.factories import JobFactory, WorkerFactory, job_claimed_by

pytestmark = pytest.mark.django_db


def test_the_claiming_worker_holds_the_job_and_no_other_does():
    holder, other = WorkerFactory(), WorkerFactory()
    job = job_claimed_by(holder)

    assert job.is_held_by(holder)
    assert not job.is_held_by(other)


def test_an_open_job_is_held_by_nobody():
    job = JobFactory()

    assert not job.is_held_by(WorkerFactory())


def test_a_holder_whose_lease_ran_out_still_holds_the_job():
    holder = WorkerFactory()
    job = job_claimed_by(holder, lease_expired=True)

    assert job.is_held_by(holder)


def test_a_completed_job_stays_held_by_the_worker_that_completed_it():
    holder = WorkerFactory()

    completed = job_complete(job=job_claimed_by(holder), worker=holder)

    assert completed.status == "completed"
    assert completed.is_held_by(holder)
    assert not completed.is_held_by(WorkerFactory())
