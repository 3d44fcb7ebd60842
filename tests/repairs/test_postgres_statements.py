"""Each hand-written statement of repairs/postgres.py and its ORM twin give the same answer on
the same data, on PostgreSQL (where both can run)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from policies.models import Proposal
from repairs import postgres
from repairs.models import (
    BudgetSpend,
    Job,
    RepairEvent,
    RepeatCounter,
    RepeatTally,
    Worker,
    WorkerToken,
)
from repairs.services import worker_token_revoke
from repairs.services.events import repair_event_report_by_orm
from repairs.services.jobs import job_claim_next_by_orm
from repairs.services.tool_verdicts import job_held_by_orm
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


# --- A report: its budget, its repeat count, its proposal, its row -------------------------------


@pytest.fixture
def counted():
    """A worker, its job, and a fingerprint counted before: 2 reports in the newest of 4
    buckets of 60 s, 3 in the one before, 1 in the oldest; an open proposal for it that one
    worker has reported already."""
    worker = WorkerFactory()
    JobFactory(external_id="JOB-1")
    RepeatCounter.objects.create(
        fingerprint="f" * 64, bucket_seconds=60, newest=1000, counts=[2, 3, 0, 1]
    )
    proposal = Proposal.objects.create(
        kind="repair", fingerprint="f" * 64, title="t", occurrences=6, affected_workers=["a"]
    )
    return worker, proposal


def tally(**changes) -> RepeatTally:
    fields = dict(
        fingerprint="f" * 64,
        bucket_seconds=60,
        head=1000,
        buckets=4,
        counted=True,
        threshold=2,
        worker="b",
        now=timezone.now(),
    )
    return RepeatTally(**{**fields, **changes})


def report_both(worker, proposal, *, budget=None, spent_before=None, job_ref="JOB-1", **changes):
    """What the statement and its twin do to the same data: each in a savepoint rolled back."""
    answers = []
    for run in (postgres.repair_event_report, repair_event_report_by_orm):
        with transaction.atomic():
            if spent_before is not None:
                BudgetSpend.objects.create(
                    worker=worker,
                    job_ref=job_ref,
                    error_class="e",
                    action="retry",
                    spent=spent_before,
                )
            event = RepairEvent(
                worker=worker,
                job_ref=job_ref,
                gate="stuck_claim",
                error_class="e",
                fingerprint="f" * 64,
                action="retry" if budget is not None else "",
                occurred_at=timezone.now(),
            )
            verdicts = [{"decision": f"v{n}"} for n in range((budget or 0) + 1)]
            counting = tally(**changes)
            spent = run(event, tally=counting, budget=budget, verdicts=verdicts)
            stored = RepairEvent.objects.get(pk=event.pk)
            counter = RepeatCounter.objects.get(pk=counting.fingerprint)
            proposal.refresh_from_db()
            answers.append(
                {
                    "spent": spent,
                    "answer": (event.repeat_count, event.proposal_id, event.job_id, event.verdict),
                    "stored": (
                        stored.repeat_count,
                        stored.proposal_id,
                        stored.job_id,
                        stored.verdict,
                        stored.decision,
                    ),
                    "counter": (counter.bucket_seconds, counter.newest, counter.counts),
                    "proposal": (proposal.occurrences, proposal.affected_workers),
                    "spends": list(BudgetSpend.objects.values_list("spent", flat=True)),
                }
            )
            transaction.set_rollback(True)
    return answers


@pytest.mark.parametrize(
    ("changes", "repeats", "counts"),
    [
        ({}, 7, [3, 3, 0, 1]),  # the newest bucket
        ({"head": 1002}, 6, [1, 0, 2, 3]),  # two buckets later: the oldest two leave
        ({"head": 1010}, 1, [1, 0, 0, 0]),  # a whole window later
        ({"head": 999}, 7, [3, 3, 0, 1]),  # a clock a bucket behind counts in the newest
        ({"counted": False}, 7, [2, 3, 0, 1]),  # older than the window: counts only itself
        ({"bucket_seconds": 30}, 1, [1, 0, 0, 0]),  # the window's length changed: start again
        ({"fingerprint": "0" * 64, "threshold": None}, 1, [1, 0, 0, 0]),  # a new fingerprint
    ],
)
def test_a_report_counts_its_repeat_as_its_orm_twin(counted, changes, repeats, counts):
    worker, proposal = counted
    statement, twin = report_both(worker, proposal, **changes)

    assert statement == twin
    assert statement["answer"][0] == repeats
    assert statement["stored"][0] == repeats
    assert statement["counter"][2] == counts


@pytest.mark.parametrize(
    ("threshold", "job_ref", "proposal_occurrences", "job_known"),
    [(2, "JOB-1", 7, True), (8, "JOB-1", 6, True), (None, "JOB-404", 6, False), (2, "", 7, False)],
)
def test_a_report_counts_on_the_proposal_from_the_threshold_as_its_orm_twin(
    counted, threshold, job_ref, proposal_occurrences, job_known
):
    worker, proposal = counted
    statement, twin = report_both(worker, proposal, threshold=threshold, job_ref=job_ref)

    assert statement == twin
    on_proposal = proposal_occurrences == 7
    assert statement["answer"][1] == (proposal.pk if on_proposal else None)
    assert statement["proposal"] == ((7, ["a", "b"]) if on_proposal else (6, ["a"]))
    assert (statement["answer"][2] is not None) is job_known


@pytest.mark.parametrize(
    ("budget", "spent_before", "spent", "spends"),
    [(2, None, 1, [1]), (2, 1, 2, [2]), (2, 2, 0, [2]), (None, None, 0, [])],
)
def test_a_report_spends_the_budget_as_its_orm_twin(counted, budget, spent_before, spent, spends):
    worker, proposal = counted
    statement, twin = report_both(worker, proposal, budget=budget, spent_before=spent_before)

    assert statement == twin
    assert statement["spent"] == spent
    assert statement["spends"] == spends
    assert statement["stored"][3:] == ({"decision": f"v{spent}"}, f"v{spent}")


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


# --- The job a worker holds (every tool verdict) ------------------------------------------------


def test_the_held_job_is_the_one_its_orm_twin_finds():
    holder, other, idle = WorkerFactory(), WorkerFactory(), WorkerFactory()
    now = timezone.now()
    JobFactory(
        external_id="H-OLD",
        status="claimed",
        claimed_by=holder,
        claimed_at=now - timedelta(hours=2),
    )
    JobFactory(
        external_id="H-STUCK",
        status="stuck",
        claimed_by=holder,
        claimed_at=now - timedelta(hours=1),
    )
    JobFactory(external_id="H-DONE", status="completed", claimed_by=holder, claimed_at=now)
    JobFactory(external_id="O-1", status="claimed", claimed_by=other, claimed_at=now)

    def held(find, worker):
        job = find(worker.pk)
        return None if job is None else (job.pk, job.external_id, job.claimed_by_id, job.claimed_at)

    for worker, expected in ((holder, "H-STUCK"), (other, "O-1"), (idle, None)):
        raw, orm = both(
            lambda worker=worker: held(postgres.job_held_by, worker),
            lambda worker=worker: held(job_held_by_orm, worker),
        )
        assert raw == orm
        assert (raw[1] if raw else None) == expected


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


# --- The fingerprint's turn (no twin: SQLite serialises writers) -------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_reporters_turn_on_a_fingerprint_is_held_until_its_transaction_ends():
    worker = WorkerFactory()
    taken, release = threading.Event(), threading.Event()

    def reporter() -> None:
        try:
            with transaction.atomic():
                event = RepairEvent(
                    worker=worker,
                    gate="stuck_claim",
                    error_class="e",
                    fingerprint="a" * 64,
                    occurred_at=timezone.now(),
                )
                postgres.repair_event_report(
                    event, tally=tally(fingerprint="a" * 64), budget=None, verdicts=[None]
                )
                taken.set()
                release.wait(10)
        finally:
            connection.close()

    def turn_free() -> bool:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM worker_repeat_counters WHERE fingerprint = %s "
                "FOR UPDATE SKIP LOCKED",
                ["a" * 64],
            )
            return cursor.fetchone() is not None

    thread = threading.Thread(target=reporter)
    thread.start()
    assert taken.wait(10)
    assert not turn_free()
    release.set()
    thread.join(10)
    assert turn_free()
