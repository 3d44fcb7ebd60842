"""Reads of the outbox shared by /ready, /metrics, the console and the drain command."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count
from django.utils import timezone

from notifications.models import Channel, OwnerReport

# States that still need something to happen: sending, a channel, or the owner's replay.
WAITING_STATES = (OwnerReport.State.PENDING, OwnerReport.State.UNROUTED, OwnerReport.State.FAILED)


def oldest_pending_age(now: datetime | None = None) -> float | None:
    """Seconds the oldest report waiting for its channel has waited; None when none waits."""
    oldest = (
        OwnerReport.objects.filter(state=OwnerReport.State.PENDING)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if oldest is None:
        return None
    return round(((now or timezone.now()) - oldest).total_seconds(), 1)


def unrouted_count() -> int:
    return OwnerReport.objects.filter(state=OwnerReport.State.UNROUTED).count()


@dataclass(frozen=True)
class Depth:
    channel: str  # "" for unrouted reports
    state: str
    count: int


def outbox_depth() -> list[Depth]:
    """How many reports wait, per channel and state (pending, failed, unrouted)."""
    names = dict(Channel.objects.values_list("pk", "name"))
    rows = (
        OwnerReport.objects.filter(state__in=WAITING_STATES)
        .order_by()
        .values("channel_id", "state")
        .annotate(count=Count("pk"))
    )
    found = {(names.get(row["channel_id"], ""), row["state"]): row["count"] for row in rows}
    # Every channel's pending depth is shown, at zero too, so an alert on it has a series.
    for name in names.values():
        found.setdefault((name, OwnerReport.State.PENDING), 0)
    found.setdefault(("", OwnerReport.State.UNROUTED), 0)
    return [Depth(channel, state, count) for (channel, state), count in sorted(found.items())]


@dataclass(frozen=True)
class ChannelTotals:
    channel: str
    sent: int
    transient_errors: int
    permanent_errors: int
    suppressed: int


def channel_totals() -> list[ChannelTotals]:
    return [
        ChannelTotals(*row)
        for row in Channel.objects.order_by("name").values_list(
            "name",
            "sent_total",
            "transient_error_total",
            "permanent_error_total",
            "suppressed_total",
        )
    ]
