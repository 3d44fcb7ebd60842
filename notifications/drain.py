"""The drain: the service that takes reports out of the outbox and sends them.

Per channel, oldest first, one drain at a time. A drain first takes the channel's lease with
a compare-and-set UPDATE (free, or expired), then works with no transaction open while it
talks to the provider; each report is archived by a conditional UPDATE only after the
provider accepted it. The lease, not a row lock, is what keeps two drains from sending the
same report or overtaking each other, so no database lock is ever held across HTTP.

Delivery is at least once: a process killed between the provider's "accepted" and the
archive UPDATE leaves the report pending, and it is sent again once the lease expires.
Webhook receivers get ``X-PLS-Report-Id`` and LINE a retry key to drop such a repeat.

What a channel cannot take goes to its fallback (``notifications.fallback``); reports of one
source and error class go out as one message (``notifications.grouping``).
"""

import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.clock import when
from notifications import metrics
from notifications.fallback import fallback_target, outbox_hand_over_held, reports_hand_over
from notifications.grouping import group_closes, group_members, render_group
from notifications.leases import lease_acquire, lease_duration
from notifications.models import Channel, OwnerReport
from notifications.services import channel_failed_report, report_route_unrouted, request_drain
from notifications.transports import TransportError, transport_for

logger = logging.getLogger(__name__)

Pending = OwnerReport.State.PENDING
# Runs that stopped for one of these reasons ask for no immediate next run: it would stop
# the same way (a later run is scheduled, or the sweep comes).
_NO_FOLLOW_UP = ("error", "lease lost", "paused", "grouping")


@dataclass
class DrainResult:
    channel: str
    sent: int = 0
    suppressed: int = 0
    failed: int = 0
    # Why the run ended before its maximum, when it did: busy, disabled, muted, backing off,
    # paused (a spent quota), grouping (the oldest report's group is still open), error,
    # lease lost.
    stopped: str = ""
    # Dry run: what would have been sent, rendered.
    preview: list[str] = field(default_factory=list)


def _send_budget() -> timedelta:
    # The longest one send may take, with margin: connect plus a read, twice.
    return timedelta(
        seconds=2 * (settings.PLS_HTTP_CONNECT_TIMEOUT + settings.PLS_HTTP_READ_TIMEOUT)
    )


def _backoff(streak: int, retry_after: float | None) -> timedelta:
    base = settings.PLS_NOTIFY_BACKOFF_BASE_SECONDS * 2 ** max(0, streak - 1)
    seconds = max(base, retry_after or 0)
    return timedelta(seconds=min(seconds, settings.PLS_NOTIFY_BACKOFF_MAX_SECONDS))


def _pending(
    channel: Channel, after_pk: int, limit: int, taken: Collection[int] = ()
) -> list[OwnerReport]:
    """The next pending reports after ``after_pk``, leaving out those ``taken`` already (sent
    in this run as part of a group)."""
    pending = OwnerReport.objects.filter(channel=channel, state=Pending, pk__gt=after_pk)
    if taken:
        pending = pending.exclude(pk__in=list(taken))
    reports = list(pending.order_by("pk")[:limit])
    for report in reports:
        report.channel = channel  # rendering reads its language and zone: no query per report
    return reports


def _sent_duplicate(report: OwnerReport) -> OwnerReport | None:
    """The report with the same dedup key this channel took within the cooldown before
    ``report`` was raised, if any."""
    if not report.dedup_key:
        return None
    return (
        OwnerReport.objects.filter(
            channel_id=report.channel_id,
            dedup_key=report.dedup_key,
            state=OwnerReport.State.SENT,
            sent_at__gte=report.created_at - settings.PLS_NOTIFY_DEDUP_COOLDOWN,
        )
        .order_by("-sent_at")
        .first()
    )


def has_ready_work(channel_id: int, now: datetime | None = None) -> bool:
    """Whether a drain of this channel would find something to send right now."""
    now = now or timezone.now()
    return Channel.objects.ready(now).filter(pk=channel_id, reports__state=Pending).exists()


def outbox_drain_channel(
    *,
    channel_id: int,
    max_count: int | None = None,
    dry_run: bool = False,
    follow_up: bool = True,
) -> DrainResult:
    """Sends up to ``max_count`` of the channel's oldest pending reports, in order, stopping
    at the first failure. Suppressed duplicates do not count toward the maximum.

    ``dry_run`` renders what would be sent and changes nothing. ``follow_up`` asks Celery
    for another run when work is left (the maximum was reached, or reports arrived while
    this run held the lease and their own drain task found the channel busy).
    """
    max_count = settings.PLS_NOTIFY_MAX_COUNT if max_count is None else max_count
    channel = Channel.objects.filter(pk=channel_id).first()
    if channel is None:
        return DrainResult(channel=f"#{channel_id}", stopped="no such channel")
    result = DrainResult(channel=channel.name)
    now = timezone.now()
    result.stopped = channel.unready_reason(now)
    if result.stopped:
        return result
    if dry_run:
        return _preview(channel, max_count, result)

    if not OwnerReport.objects.filter(channel=channel, state=Pending).exists():
        return result  # an idle run takes no lease: a read instead of two writes
    token = lease_acquire(channel, now)
    if token is None:
        result.stopped = "busy"  # another drain has it; it looks again when it lets go
        return result
    run = _Run(channel, token)
    try:
        _drain_leased(run, max_count, result)
    finally:
        # Archives what was sent and lets go of the channel in one write.
        if not run.settle(release=True) and not result.stopped:
            result.stopped = "lease lost"
    # After letting go, never before: a drain task that found the channel busy in the
    # meantime has given up, and its report is only picked up here.
    if follow_up and not result.stopped.startswith(_NO_FOLLOW_UP) and has_ready_work(channel.pk):
        request_drain([channel.pk])
    return result


class _Run:
    """One leased run over a channel.

    Reports the provider accepted are archived together when the run settles: at its end,
    and before any other write about the channel (a failure, a lease renewal), so a run of
    five costs one transaction instead of five. A report is archived only after the
    provider accepted it; a crash before the run settles means it is sent again (at least
    once, as the module says).
    """

    def __init__(self, channel: Channel, token: str) -> None:
        self.channel = channel
        self.token = token
        self.accepted: list[OwnerReport] = []
        # Dedup keys sent in this run and not archived yet: the database cannot see them.
        self.sent_keys: dict[str, OwnerReport] = {}
        # Groups sent and not archived yet: first report's id → every member's id.
        self.groups: dict[int, list[int]] = {}
        # Every report sent in this run, archived or not: a group's later members.
        self.taken: set[int] = set()
        self.lease_valid_until = timezone.now() + lease_duration()

    def accept(self, members: list[OwnerReport]) -> None:
        """The provider took one message for ``members`` (one report, or a group)."""
        self.accepted.extend(members)
        self.taken.update(m.pk for m in members)
        for report in members:
            if report.dedup_key:
                self.sent_keys.setdefault(report.dedup_key, report)
        if len(members) > 1:
            self.groups[members[0].pk] = [m.pk for m in members]

    def sent_duplicate(self, report: OwnerReport) -> OwnerReport | None:
        return self.sent_keys.get(report.dedup_key) or _sent_duplicate(report)

    def keep_lease(self) -> bool:
        """Before a send: True if the lease outlasts it (renewed if need be)."""
        now = timezone.now()
        if self.lease_valid_until - now >= _send_budget():
            return True
        if not self.settle(release=False):
            return False
        self.lease_valid_until = now + lease_duration()
        return True

    def settle(self, *, release: bool) -> bool:
        """Archives the accepted reports and renews (or releases) the lease, atomically;
        False if the lease was lost, in which case nothing is archived."""
        now = timezone.now()
        changes: dict = (
            {"lease_token": "", "lease_expires_at": None}
            if release
            else {"lease_expires_at": now + lease_duration()}
        )
        if self.accepted:
            changes.update(
                failure_streak=0,
                retry_at=None,
                last_error="",
                last_sent_at=now,
                sent_total=F("sent_total") + len(self.accepted),
            )
        with transaction.atomic():
            held = Channel.objects.filter(pk=self.channel.pk, lease_token=self.token).update(
                **changes
            )
            if not held:
                if self.accepted:
                    logger.error(
                        "channel %s: lease lost with reports %s sent but not archived; the "
                        "next drain sends them again",
                        self.channel,
                        [r.pk for r in self.accepted],
                    )
                return False
            if self.accepted:
                OwnerReport.objects.filter(
                    pk__in=[r.pk for r in self.accepted], state=Pending
                ).update(
                    state=OwnerReport.State.SENT,
                    sent_at=now,
                    attempts=F("attempts") + 1,
                    last_attempt_at=now,
                )
            for first, members in self.groups.items():
                OwnerReport.objects.filter(pk__in=members).update(grouped_into_id=first)
                OwnerReport.objects.filter(pk=first).update(group_size=len(members))
        if self.accepted:
            self.channel.failure_streak = 0
            latency = metrics.delivery_latency.labels(channel=self.channel.name)
            for report in self.accepted:
                latency.observe(max((now - report.created_at).total_seconds(), 0.0))
        self.accepted.clear()
        self.groups.clear()
        self.sent_keys.clear()  # archived: the database answers from now on
        return True


def _drain_leased(run: _Run, max_count: int, result: DrainResult) -> None:
    channel = run.channel
    transport = transport_for(channel)
    last_pk = 0
    while result.sent < max_count:
        limit = max_count - result.sent
        batch = _pending(channel, last_pk, limit, run.taken)
        for report in batch:
            last_pk = report.pk
            if report.pk in run.taken:
                continue
            if not run.keep_lease():
                result.stopped = "lease lost"
                return
            if (first := run.sent_duplicate(report)) is not None:
                if _suppress(channel, report, first):
                    result.suppressed += 1
                continue
            closes = group_closes(report)
            if closes is not None and closes > timezone.now():
                # Its group still takes reports; nothing newer may overtake it.
                result.stopped = f"grouping until {when(closes, seconds=True)}"
                _drain_later(channel, closes - timezone.now())
                return
            members = group_members(report, taken=run.taken)

            try:
                # The request that raised the report, on every line about sending it.
                raised_by = {"request_id": report.request_id} if report.request_id else {}
                with structlog.contextvars.bound_contextvars(**raised_by):
                    message_id = transport.send(render_group(members))
                    logger.info(
                        "channel %s: report %s sent%s",
                        channel,
                        report.pk,
                        f" for a group of {len(members)}" if len(members) > 1 else "",
                    )
                if message_id:
                    OwnerReport.objects.filter(pk=report.pk).update(
                        provider_message_id=message_id[:200]
                    )
            except TransportError as error:
                if not run.settle(release=False):
                    result.stopped = "lease lost"
                    return
                if error.until is not None:
                    _pause(channel, report, error)
                    result.stopped = "paused"
                    return
                if error.permanent:
                    _fail(channel, members, error.message)
                    result.failed += len(members)
                    continue
                _retry_later(channel, report, error)
                result.stopped = "error"
                return
            except Exception as exc:  # a bug in a transport must not wedge the channel
                logger.exception(
                    "channel %s: unexpected error sending report %s", channel, report.pk
                )
                if run.settle(release=False):
                    _retry_later(channel, report, TransportError(f"{type(exc).__name__}: {exc}"))
                result.stopped = "error"
                return
            run.accept(members)
            result.sent += 1
            if result.sent >= max_count:
                return
        if len(batch) < limit:
            return  # nothing else was pending


def _suppress(channel: Channel, report: OwnerReport, first: OwnerReport) -> bool:
    with transaction.atomic():
        suppressed = OwnerReport.objects.filter(pk=report.pk, state=Pending).update(
            state=OwnerReport.State.SUPPRESSED, duplicate_of=first
        )
        if suppressed:
            OwnerReport.objects.filter(pk=first.pk).update(
                suppressed_count=F("suppressed_count") + 1
            )
            Channel.objects.filter(pk=channel.pk).update(suppressed_total=F("suppressed_total") + 1)
    return bool(suppressed)


def _fail(channel: Channel, members: list[OwnerReport], error: str) -> None:
    """A permanent error: the report (every report of its group) goes to the channel's
    fallback, or is given up (replayable); the owner is told elsewhere, and the channel
    moves on to the next report instead of blocking on this one forever."""
    now = timezone.now()
    report = members[0]
    logger.warning("channel %s refused report %s permanently: %s", channel, report.pk, error)
    pks = [m.pk for m in members]
    fallback = fallback_target(channel, report)
    if fallback is not None:
        with transaction.atomic():
            _attempted(pks, now, error)
            Channel.objects.filter(pk=channel.pk).update(
                last_error=error, permanent_error_total=F("permanent_error_total") + 1
            )
        reports_hand_over(
            channel=channel, reports=members, reason=_("refused: %(error)s") % {"error": error}
        )
        channel_failed_report(channel=channel, report=report, error=error, handed_to=fallback)
        return
    with transaction.atomic():
        OwnerReport.objects.filter(pk__in=pks, state=Pending).update(
            state=OwnerReport.State.FAILED,
            attempts=F("attempts") + 1,
            last_attempt_at=now,
            last_error=error,
        )
        Channel.objects.filter(pk=channel.pk).update(
            last_error=error, permanent_error_total=F("permanent_error_total") + 1
        )
        channel_failed_report(channel=channel, report=report, error=error)


def _attempted(pks: list[int], now: datetime, error: str) -> None:
    OwnerReport.objects.filter(pk__in=pks, state=Pending).update(
        attempts=F("attempts") + 1, last_attempt_at=now, last_error=error
    )


def _pause(channel: Channel, report: OwnerReport, error: TransportError) -> None:
    """The provider refuses everything until ``error.until`` (a spent monthly quota): the
    channel is paused until then, and every report it holds goes to its fallback, in order.
    Without a fallback they wait for the pause to end; none is dropped."""
    now = timezone.now()
    logger.warning("channel %s: %s", channel, error.message)
    with transaction.atomic():
        _attempted([report.pk], now, error.message)
        Channel.objects.filter(pk=channel.pk).update(
            paused_until=error.until,
            retry_at=error.until,
            last_error=error.message,
            permanent_error_total=F("permanent_error_total") + 1,
        )
    channel.paused_until = channel.retry_at = error.until
    held = OwnerReport.objects.filter(channel=channel, state=Pending).order_by("pk")
    reports_hand_over(channel=channel, reports=list(held), reason=error.message)


def _retry_later(channel: Channel, report: OwnerReport, error: TransportError) -> None:
    """A transient error: the report stays pending and the channel backs off."""
    now = timezone.now()
    streak = channel.failure_streak + 1
    delay = _backoff(streak, error.retry_after)
    logger.warning(
        "channel %s: report %s not sent (%s); retrying in %.0f s",
        channel,
        report.pk,
        error.message,
        delay.total_seconds(),
    )
    with transaction.atomic():
        _attempted([report.pk], now, error.message)
        Channel.objects.filter(pk=channel.pk).update(
            failure_streak=streak,
            retry_at=now + delay,
            last_error=error.message,
            transient_error_total=F("transient_error_total") + 1,
        )
    channel.failure_streak = streak
    attempts = report.attempts + 1
    if channel.fallback_id is not None and attempts >= settings.PLS_FALLBACK_AFTER_ATTEMPTS:
        reason = _("%(attempts)s attempts failed, the last: %(error)s") % {
            "attempts": attempts,
            "error": error.message,
        }
        if reports_hand_over(channel=channel, reports=[report], reason=reason):
            return
    _drain_later(channel, delay)


def _drain_later(channel: Channel, delay: timedelta) -> None:
    """Asks for a drain after ``delay`` when that is sooner than the next sweep."""
    if delay.total_seconds() >= settings.PLS_NOTIFY_SWEEP_SECONDS:
        return
    from notifications.tasks import drain_channel

    try:
        drain_channel.apply_async(args=[channel.pk], countdown=delay.total_seconds(), retry=False)
    except Exception:  # the sweep retries anyway
        logger.info("channel %s: next run left to the beat sweep", channel)


def _preview(channel: Channel, max_count: int, result: DrainResult) -> DrainResult:
    """What a run would do, rendered, with nothing sent or changed."""
    would_send: dict[str, int] = {}
    grouped: set[int] = set()
    last_pk = 0
    while result.sent < max_count:
        batch = _pending(channel, last_pk, max_count - result.sent, grouped)
        if not batch:
            break
        for report in batch:
            last_pk = report.pk
            if report.pk in grouped:
                continue
            first = _sent_duplicate(report)
            if first is None and report.dedup_key in would_send:
                first_pk = would_send[report.dedup_key]
            else:
                first_pk = first.pk if first else None
            if first_pk is not None:
                result.suppressed += 1
                result.preview.append(
                    f"#{report.pk}: would be suppressed (duplicate of #{first_pk})"
                )
                continue
            if report.dedup_key:
                would_send[report.dedup_key] = report.pk
            closes = group_closes(report)
            if closes is not None and closes > timezone.now():
                result.stopped = f"grouping until {when(closes, seconds=True)}"
                return result
            members = group_members(report, taken=grouped)
            grouped.update(m.pk for m in members)
            result.sent += 1
            result.preview.append(render_group(members).text)
            if result.sent >= max_count:
                break
    return result


def outbox_sweep() -> list[int]:
    """Routes reports that were waiting for a channel and asks for a drain of every channel
    with work ready; returns those channels' ids."""
    report_route_unrouted()
    outbox_hand_over_held()
    now = timezone.now()
    ready = list(
        Channel.objects.ready(now)
        .filter(reports__state=Pending)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
        .values_list("pk", flat=True)
        .distinct()
    )
    if ready:
        # Regardless of queued marks: this is what recovers a task lost with its broker.
        request_drain(ready, coalesce=False)
    return ready


def outbox_drain(
    *, channel_name: str | None = None, max_count: int | None = None, dry_run: bool = False
) -> list[DrainResult]:
    """One run over every enabled channel (or the named one), in this process: what
    ``manage.py drain_reports`` does. Other channels go on when one fails."""
    if not dry_run:
        report_route_unrouted(notify=False)
    channels = Channel.objects.all() if channel_name else Channel.objects.filter(enabled=True)
    if channel_name:
        channels = channels.filter(name=channel_name)
    return [
        outbox_drain_channel(channel_id=pk, max_count=max_count, dry_run=dry_run, follow_up=False)
        for pk in channels.order_by("name").values_list("pk", flat=True)
    ]
