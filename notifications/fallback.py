"""Fallback: a channel that cannot take its reports hands them to the channel it names.

A report goes to the fallback when its channel refuses it for good (a 4xx other than 408,
409, 425 and 429, a wrong address), when it failed ``PLS_FALLBACK_AFTER_ATTEMPTS`` times in
a row, when it waited longer than the channel's fallback age while the channel fails, and at
once when the channel is paused until a known moment (LINE's monthly limit).

Handing over is a compare-and-set of the report from ``pending`` to ``handed_over`` in the
same transaction as the fallback's new row, done only by the holder of the channel's lease:
the report is then either still the first channel's to send or the fallback's, never both,
and never neither. Both rows say so (``handed_to`` and ``fallback_for``). A fallback that
already has its own copy of the report (both matched its routing) takes none: that copy
goes out, once. A report never returns to a channel it has been through.
"""

import logging
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.clock import when
from notifications.leases import lease_acquire, lease_release
from notifications.models import Channel, OwnerReport
from notifications.services import request_drain_on_commit

logger = logging.getLogger(__name__)

Pending = OwnerReport.State.PENDING
# A chain of fallbacks longer than this is a configuration mistake, not a plan.
_MAX_HOPS = 8


def reports_hand_over(*, channel: Channel, reports: Iterable[OwnerReport], reason: str) -> int:
    """Hands each of ``reports`` (pending on ``channel``, in order) to the channel's
    fallback; returns how many went. The caller holds ``channel``'s lease."""
    handed = 0
    for report in sorted(reports, key=lambda r: r.pk):
        target = fallback_target(channel, report)
        if target is None:
            return handed  # no fallback left: the rest wait for this channel too
        with transaction.atomic():
            if _hand_over(report, channel, target, reason):
                handed += 1
    if handed:
        logger.warning(
            "channel %s handed %d report(s) to its fallback %s: %s",
            channel,
            handed,
            channel.fallback,
            reason,
        )
    return handed


def fallback_target(channel: Channel, report: OwnerReport) -> Channel | None:
    """The first channel down the fallback chain this report has not been through."""
    visited = {channel.pk}
    origin = report.fallback_for
    for _hop in range(_MAX_HOPS):
        if origin is None:
            break
        visited.add(origin.channel_id)  # type: ignore[arg-type]
        origin = origin.fallback_for
    target = channel.fallback
    for _hop in range(_MAX_HOPS):
        if target is None or target.pk not in visited:
            return target
        visited.add(target.pk)
        target = target.fallback
    return None


def _hand_over(report: OwnerReport, channel: Channel, target: Channel, reason: str) -> bool:
    claimed = OwnerReport.objects.filter(pk=report.pk, channel=channel, state=Pending).update(
        state=OwnerReport.State.HANDED_OVER,
        last_error=_("%(reason)s; handed to fallback %(channel)s")
        % {"reason": reason, "channel": target},
    )
    if not claimed:
        return False
    content = {name: getattr(report, name) for name in OwnerReport.CONTENT_FIELDS}
    twin = (
        OwnerReport.objects.filter(channel=target, created_at=report.created_at, **content)
        .exclude(pk=report.pk)
        .order_by("pk")
        .first()
    )
    delivery = twin or OwnerReport.objects.create(
        channel=target,
        state=Pending,
        created_at=report.created_at,
        request_id=report.request_id,
        fallback_for=report,
        **content,
    )
    OwnerReport.objects.filter(pk=report.pk).update(handed_to=delivery)
    request_drain_on_commit([target.pk])
    return True


def outbox_hand_over_held(*, now: datetime | None = None) -> int:
    """The sweep's part: on every failing channel with a fallback, hands over the reports
    held past the channel's fallback age (all of them while it is paused). Muted and
    disabled channels hold theirs: that is what the owner asked for."""
    now = now or timezone.now()
    failing = (
        Channel.objects.filter(enabled=True, fallback__isnull=False, reports__state=Pending)
        .filter(Q(muted_until__isnull=True) | Q(muted_until__lte=now))
        .filter(Q(retry_at__gt=now) | Q(paused_until__gt=now))
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
        .select_related("fallback")
        .distinct()
    )
    handed = 0
    for channel in failing:
        held = OwnerReport.objects.filter(channel=channel, state=Pending)
        if not channel.is_paused(now):
            age = channel.fallback_age()
            if age is None:
                continue
            held = held.filter(created_at__lte=now - age)
        reports = list(held.select_related("fallback_for").order_by("pk")[:500])
        if not reports:
            continue
        token = lease_acquire(channel, now)
        if token is None:
            continue  # a drain has it; the next sweep looks again
        try:
            reason = (
                _("paused until %(until)s") % {"until": when(channel.paused_until)}
                if channel.is_paused(now)
                else _("held over %(age)s while the channel fails")
                % {"age": channel.fallback_age()}
            )
            handed += reports_hand_over(channel=channel, reports=reports, reason=reason)
        finally:
            lease_release(channel, token)
    return handed
