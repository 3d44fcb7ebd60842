"""Queries the API, the admin and the dashboards share."""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from policies.simulation import PastAction
from repairs.models import Gate, RepairEvent, SelfHealRequest, Worker


def worker_for_user(user: AbstractBaseUser) -> Worker | None:
    """The worker a request acts as, or None for a person."""
    try:
        return user.worker  # type: ignore[attr-defined]
    except Worker.DoesNotExist:
        return None


def repair_event_list(*, user: AbstractBaseUser) -> QuerySet[RepairEvent]:
    """Events the user may read: a worker sees its own, people with the view right see all."""
    events = RepairEvent.objects.select_related("worker", "self_heal_request")
    worker = worker_for_user(user)
    if worker is not None:
        return events.filter(worker=worker)
    return events


def self_heal_request_list(*, user: AbstractBaseUser) -> QuerySet[SelfHealRequest]:
    """Requests the user may read: a worker sees its own, people with the view right see all."""
    requests = SelfHealRequest.objects.select_related("worker", "event", "decided_by")
    worker = worker_for_user(user)
    if worker is not None:
        return requests.filter(worker=worker)
    return requests


def past_actions(*, since: datetime, limit: int) -> tuple[list[PastAction], bool]:
    """The newest ``limit`` actions workers asked for since ``since``, oldest first, and
    whether older ones in the window were left out."""
    rows = list(
        RepairEvent.objects.filter(occurred_at__gte=since)
        .exclude(action="")
        # The console's own record of raising a proposal is not a worker's action.
        .exclude(gate=Gate.REPAIR_SUGGESTED)
        .order_by("-occurred_at", "-id")
        .values_list(
            "pk",
            "worker__name",
            "job_ref",
            "error_class",
            "action",
            "target",
            "decision",
            "occurred_at",
        )[: limit + 1]
    )
    truncated = len(rows) > limit
    return [PastAction(*row) for row in reversed(rows[:limit])], truncated
