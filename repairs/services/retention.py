"""Repair events age out (retention's ``events`` kind), except the ones other records stand on."""

from collections.abc import Iterable
from datetime import datetime

from core.retention import DEFAULT_BATCH, delete_in_batches
from repairs.models import RepairEvent, ToolVerdict


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
