"""Each hand-written statement of repairs/postgres.py and its ORM twin give the same answer on
the same data, on PostgreSQL (where both can run)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from policies import ladder
from repairs import postgres
from repairs.models import Job, RepairEvent, Worker, WorkerToken
from repairs.services import repair_event_report, worker_token_revoke
from repairs.services.events import repair_event_earlier_by_orm
from repairs.services.jobs import job_claim_next_by_orm
from repairs.services.workers import _digest, worker_token_find_by_orm
from tests.factories import JobFactory, WorkerFactory, issue_token

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def both(statement, twin, **arguments):
    """What the statement and its twin answer on the same data: each runs in a savepoint
    that is rolled back, so the second sees what the first saw."""
    answers = []
    for run in (statement, twin):
        with transaction.atomic():
            answers.append(run(**arguments))
            transaction.set_rollback(True)
    return answers


# --- The earlier events a report is judged against ---------------------------------------------


@pytest.fixture
def history():
    """Five retries of one error by one worker on JOB-1 (two of them a week old; the
    first allowed by the retry budget, the others over it), and a report of another error."""
    worker = WorkerFactory()
    JobFactory(external_id="JOB-1")
    now = timezone.now()
    for days in (0, 0, 0, 7, 7):
        repair_event_report(
            worker=worker,
            gate="stuck_claim",
            error_class="context_fetch_failed",
            job_ref="JOB-1",
            action="retry",
            message="fetch failed with 503",
            occurred_at=now - timedelta(days=days),
        )
    repair_event_report(worker=worker, gate="friction", error_class="other", message="x")
    fingerprint = RepairEvent.objects.filter(error_class="context_fetch_failed").first().fingerprint
    return worker, fingerprint, now


@pytest.mark.parametrize(
    ("cap", "job_ref", "budget", "expected"),
    [
        (100, "JOB-1", ("context_fetch_failed", "retry"), (3, 1, "job")),
        (2, "JOB-1", ("context_fetch_failed", "retry"), (2, 1, "job")),
        (100, "JOB-1", None, (3, 0, "job")),
        (100, "", None, (3, 0, None)),
        (100, "JOB-404", ("context_fetch_failed", "retry"), (3, 0, None)),
        (0, "JOB-1", ("context_fetch_failed", "reclaim"), (0, 0, "job")),
    ],
)
def test_the_earlier_events_read_answers_as_its_orm_twin(history, cap, job_ref, budget, expected):
    worker, fingerprint, now = history
    raw, orm = both(
        postgres.repair_event_earlier,
        repair_event_earlier_by_orm,
        fingerprint=fingerprint,
        since=now - timedelta(days=1),
        cap=cap,
        job_ref=job_ref,
        worker_id=worker.pk,
        budget=budget,
        allowed=ladder.ALLOWED,
    )

    assert raw == orm
    repeats, spent, job = expected
    job_id = Job.objects.get(external_id="JOB-1").pk if job else None
    assert tuple(raw) == (repeats, spent, job_id)


# --- claim-next --------------------------------------------------------------------------------


@pytest.fixture
def queue():
    for n, priority in enumerate(["low", "medium", "high", "high"]):
        JobFactory(external_id=f"Q-{n}", priority=priority)
    return WorkerFactory()


def claimed(claim, worker: Worker) -> tuple:
    now = timezone.now().replace(microsecond=0)
    job = claim(worker, now)
    if job is None:
        return None, Worker.objects.get(pk=worker.pk).status
    row = Job.objects.get(pk=job.pk)
    fields = ("external_id", "status", "claimed_by_id", "claimed_at", "attempts", "progress")
    worker_now = Worker.objects.get(pk=worker.pk)
    return (
        job.pk,
        tuple(getattr(row, name) for name in fields),
        row.lease_expires_at - now,
        (worker_now.status, worker_now.last_heartbeat_at == now),
    )


def test_claim_next_leases_the_same_job_as_its_orm_twin(queue):
    def statement(worker, now):
        return postgres.job_claim_next(
            worker_id=worker.pk, now=now, lease_expires_at=now + timedelta(minutes=15)
        )

    raw, orm = both(
        lambda: claimed(statement, queue),
        lambda: claimed(job_claim_next_by_orm, queue),
    )

    assert raw[1][0] == "Q-2"  # the oldest of the highest priority
    assert raw[1][1:3] == ("claimed", queue.pk)
    assert raw[:2] == orm[:2]
    assert raw[3] == orm[3] == ("running", True)


def test_claim_next_takes_nothing_for_a_paused_worker_or_from_an_empty_queue(queue):
    def statement(worker, now):
        return postgres.job_claim_next(worker_id=worker.pk, now=now, lease_expires_at=now)

    Worker.objects.filter(pk=queue.pk).update(status="paused")
    paused = both(lambda: claimed(statement, queue), lambda: claimed(job_claim_next_by_orm, queue))
    Worker.objects.filter(pk=queue.pk).update(status="idle")
    Job.objects.update(status="completed")
    empty = both(lambda: claimed(statement, queue), lambda: claimed(job_claim_next_by_orm, queue))

    assert paused == [(None, "paused"), (None, "paused")]
    assert empty == [(None, "idle"), (None, "idle")]
    assert not Job.objects.filter(claimed_by=queue).exists()


# --- The token lookup --------------------------------------------------------------------------


def test_the_token_lookup_finds_what_its_orm_twin_finds():
    worker = WorkerFactory()
    raw_token = issue_token(worker)
    revoked = issue_token(worker)

    worker_token_revoke(token=WorkerToken.objects.get(digest=_digest(revoked)))

    def found(find, digest):
        token = find(digest)
        if token is None:
            return None
        return (
            model_to_dict(token),
            model_to_dict(token.worker),
            model_to_dict(token.worker.user, exclude=["groups", "user_permissions"]),
            token.worker.user.worker is token.worker,
        )

    for digest in (_digest(raw_token), _digest(revoked), _digest("pls_unknown")):
        raw, orm = both(
            lambda digest=digest: found(postgres.worker_token_find, digest),
            lambda digest=digest: found(worker_token_find_by_orm, digest),
        )
        assert raw == orm
    assert found(postgres.worker_token_find, _digest(raw_token))[1]["name"] == worker.name
    assert found(postgres.worker_token_find, _digest(revoked)) is None


# --- The turn lock (no twin: SQLite serialises writers) ------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_reporters_turn_on_a_fingerprint_is_held_until_its_transaction_ends():
    fingerprint = "a" * 64
    key = [postgres.LOCK_SPACE, int(fingerprint[:7], 16)]
    taken, release = threading.Event(), threading.Event()

    def reporter() -> None:
        try:
            with transaction.atomic():
                postgres.turn_take(fingerprint, worker_id=None)
                taken.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=reporter)
    thread.start()
    assert taken.wait(10)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", key)
        assert cursor.fetchone()[0] is False
    release.set()
    thread.join(10)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", key)
        assert cursor.fetchone()[0] is True
