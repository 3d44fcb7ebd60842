"""Repair records age out: events (retention's ``events`` kind, except the ones other records
stand on), tool verdicts, and the counters and budgets ingest keeps beside them."""

from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.db.models import Exists, F, OuterRef

from core.retention import DEFAULT_BATCH, delete_in_batches
from repairs.models import BudgetSpend, RepairEvent, RepeatCounter, ToolVerdict


def repair_events_purge(
    *, cutoff: datetime, batch_size: int = DEFAULT_BATCH, keep: Iterable[int] = ()
) -> int:
    """Deletes repair events that occurred before ``cutoff``; returns how many.

    Kept for ever, with the records that refer to them: an event that opened a self-heal
    request (the request holds a human's decision, kept for ever) and one a lesson was
    learned from (learning memory is not aged out). ``keep``: more ids to leave, such as the
    records the milestones show as their proof. Proposals and policy decisions only count
    events, so they stay whole without them; the scorecard reads the per-day rollup.
    """
    due = RepairEvent.objects.filter(
        occurred_at__lt=cutoff,
        self_heal_request__isnull=True,
        learning_updates__isnull=True,
    ).exclude(pk__in=list(keep))
    return delete_in_batches(due, batch_size=batch_size)


def tool_verdicts_purge(*, cutoff: datetime, batch_size: int = DEFAULT_BATCH) -> int:
    """Deletes tool-call verdicts given before ``cutoff``; returns how many. The self-heal
    requests they opened, and the events those stand on, are kept for ever."""
    due = ToolVerdict.objects.filter(created_at__lt=cutoff)
    return delete_in_batches(due, batch_size=batch_size)


def repeat_counters_purge(*, cutoff: datetime, batch_size: int = DEFAULT_BATCH) -> int:
    """Deletes the fingerprints' repeat counters whose every bucket had left the repeat
    window by ``cutoff``; returns how many.

    Nothing a report reads goes with them: a report received after ``cutoff`` shifts such a
    counter by the whole window, to zeros, and counts from there as it would on a new one.
    ``PLS_REPEAT_BUCKETS`` is the window's length in buckets, as reports count it."""
    buckets = settings.PLS_REPEAT_BUCKETS
    ended = (F("newest") + buckets) * F("bucket_seconds")
    due = RepeatCounter.objects.alias(ended=ended).filter(ended__lte=int(cutoff.timestamp()))
    return delete_in_batches(due, batch_size=batch_size)


def budget_spends_purge(*, cutoff: datetime, batch_size: int = DEFAULT_BATCH) -> int:
    """Deletes the retry budgets spent on jobs the worker reported nothing about (with that
    error class and action) since ``cutoff``; returns how many. The worker's next retry of
    such a job starts a new budget, as it did when the budget was counted from the events
    and those events had aged out."""
    recent = RepairEvent.objects.filter(
        worker=OuterRef("worker"),
        job_ref=OuterRef("job_ref"),
        error_class=OuterRef("error_class"),
        action=OuterRef("action"),
        occurred_at__gte=cutoff,
    )
    due = BudgetSpend.objects.filter(~Exists(recent))
    return delete_in_batches(due, batch_size=batch_size)
