"""POST /jobs/claim-next: the oldest open job of the highest priority; 204 when there is
none."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from repairs.models import Job
from tests.factories import JobFactory

NEXT = "/api/v1/jobs/claim-next"

pytestmark = pytest.mark.django_db


def test_claim_next_takes_high_before_medium_before_low_and_the_oldest_first(worker_client):
    now = timezone.now()
    for external_id, priority, age in [
        ("low-old", "low", 50),
        ("medium-new", "medium", 1),
        ("high-new", "high", 2),
        ("medium-old", "medium", 40),
        ("high-old", "high", 30),
        ("low-new", "low", 3),
    ]:
        job = JobFactory(external_id=external_id, priority=priority)
        Job.objects.filter(pk=job.pk).update(created_at=now - timedelta(minutes=age))

    order = [worker_client.post(NEXT).json()["external_id"] for _ in range(6)]

    assert order == ["high-old", "high-new", "medium-old", "medium-new", "low-old", "low-new"]


def test_jobs_created_in_the_same_instant_go_in_id_order(worker_client):
    now = timezone.now()
    first, second = JobFactory(priority="high"), JobFactory(priority="high")
    Job.objects.update(created_at=now)

    taken = [worker_client.post(NEXT).json()["external_id"] for _ in range(2)]

    assert taken == [first.external_id, second.external_id]


def test_claimed_stuck_and_completed_jobs_are_not_handed_out(worker_client):
    for status in ("claimed", "stuck", "completed"):
        JobFactory(status=status, priority="high")
    open_job = JobFactory(priority="low")

    assert worker_client.post(NEXT).json()["external_id"] == open_job.external_id


def test_an_empty_queue_answers_204_no_content(worker_client):
    response = worker_client.post(NEXT)

    assert response.status_code == 204
    assert response.content == b""


@pytest.mark.postgres
def test_claim_next_reads_the_queue_through_its_partial_index(worker_client):
    JobFactory.create_batch(3)

    with CaptureQueriesContext(connection) as queries:
        worker_client.post(NEXT)

    select = next(q["sql"] for q in queries.captured_queries if "SKIP LOCKED" in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("EXPLAIN " + select)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
    assert "job_open_queue" in plan
    assert "Sort" not in plan  # the index gives the order
