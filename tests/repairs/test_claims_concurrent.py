"""Twenty workers calling claim-next at once over 200 jobs on PostgreSQL: every job is handed
out exactly once (FOR UPDATE SKIP LOCKED), none is lost, and nobody waits on another."""

import threading
from collections import Counter

import pytest
from django.db import connection

from repairs.models import Job
from tests.factories import JobFactory, WorkerFactory, client_for

WORKERS = 20
JOBS = 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_twenty_concurrent_claim_next_callers_never_get_the_same_job_and_lose_none():
    for index in range(JOBS):
        JobFactory(priority=("high", "medium", "low")[index % 3])
    workers = [WorkerFactory() for _ in range(WORKERS)]
    clients = [client_for(worker) for worker in workers]
    start = threading.Barrier(WORKERS)
    claimed: list[list[str]] = [[] for _ in range(WORKERS)]
    errors: list[str] = []

    def work(index: int) -> None:
        try:
            start.wait()
            while True:
                response = clients[index].post("/api/v1/jobs/claim-next")
                if response.status_code == 204:
                    return
                if response.status_code != 200:
                    errors.append(f"{response.status_code} {response.content[:200]!r}")
                    return
                claimed[index].append(response.json()["external_id"])
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors
    handed_out = [external_id for taken in claimed for external_id in taken]
    duplicates = [external_id for external_id, n in Counter(handed_out).items() if n > 1]
    assert duplicates == []
    assert len(handed_out) == JOBS
    assert set(handed_out) == set(Job.objects.values_list("external_id", flat=True))
    # The database agrees with what each worker was told.
    holders = dict(Job.objects.values_list("external_id", "claimed_by"))
    assert all(
        holders[external_id] == worker.pk
        for worker, taken in zip(workers, claimed, strict=True)
        for external_id in taken
    )
    assert not Job.objects.exclude(status="claimed").exists()
    # More than one worker got work: they ran side by side, not one after another.
    assert sum(1 for taken in claimed if taken) > 1
