"""The drain: the service that takes reports out of the outbox and sends them.

Per channel, oldest first, one drain at a time. A drain first takes the channel's lease with
a compare-and-set UPDATE (free, or expired), then works with no transaction open while it
talks to the provider; each report is archived by a conditional UPDATE only after the
provider accepted it. The lease, not a row lock, is what keeps two drains from sending the
same report or overtaking each other, so no database lock is ever held across HTTP.

Delivery is at least once: a process killed between the provider's "accepted" and the
archive UPDATE leaves the report pending, and it is sent again once the lease expires.
Webhook receivers get ``X-PLS-Report-Id`` and LINE a retry key to drop such a repeat.
"""

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from notifications import metrics
from notifications.models import Channel, OwnerReport
from notifications.render import render
from notifications.services import channel_failed_report, report_route_unrouted, request_drain
from notifications.transports import TransportError, transport_for

logger = logging.getLogger(__name__)

Pending = OwnerReport.State.PENDING


@dataclass
class DrainResult:
    channel: str
    sent: int = 0
    suppressed: int = 0
    failed: int = 0
    # Why the run ended before its maximum, when it did: busy, disabled, muted, backing off,
    # error, lease lost.
    stopped: str = ""
    # Dry run: what would have been sent, rendered.
    preview: list[str] = field(default_factory=list)


def _lease_acquire(channel: Channel, now: datetime) -> str | None:
    token = secrets.token_hex(16)
    taken = Channel.objects.filter(
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now), pk=channel.pk
    ).update(lease_token=token, lease_expires_at=now + _lease_duration())
    return token if taken else None


def _lease_duration() -> timedelta:
    return timedelta(seconds=settings.PLS_NOTIFY_LEASE_SECONDS)


def _send_budget() -> timedelta:
    # The longest one send may take, with margin: connect plus a read, twice.
    return timedelta(
        seconds=2 * (settings.PLS_HTTP_CONNECT_TIMEOUT + settings.PLS_HTTP_READ_TIMEOUT)
    )


def _backoff(streak: int, retry_after: float | None) -> timedelta:
    base = settings.PLS_NOTIFY_BACKOFF_BASE_SECONDS * 2 ** max(0, streak - 1)
    seconds = max(base, retry_after or 0)
    return timedelta(seconds=min(seconds, settings.PLS_NOTIFY_BACKOFF_MAX_SECONDS))


def _pending(channel: Channel, after_pk: int, limit: int) -> list[OwnerReport]:
    reports = list(
        OwnerReport.objects.filter(channel=channel, state=Pending, pk__gt=after_pk).order_by("pk")[
            :limit
        ]
    )
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
    token = _lease_acquire(channel, now)
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
    if follow_up and result.stopped not in {"error", "lease lost"} and has_ready_work(channel.pk):
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
        self.lease_valid_until = timezone.now() + _lease_duration()

    def accept(self, report: OwnerReport) -> None:
        self.accepted.append(report)
        if report.dedup_key:
            self.sent_keys.setdefault(report.dedup_key, report)

    def sent_duplicate(self, report: OwnerReport) -> OwnerReport | None:
        return self.sent_keys.get(report.dedup_key) or _sent_duplicate(report)

    def keep_lease(self) -> bool:
        """Before a send: True if the lease outlasts it (renewed if need be)."""
        now = timezone.now()
        if self.lease_valid_until - now >= _send_budget():
            return True
        if not self.settle(release=False):
            return False
        self.lease_valid_until = now + _lease_duration()
        return True

    def settle(self, *, release: bool) -> bool:
        """Archives the accepted reports and renews (or releases) the lease, atomically;
        False if the lease was lost, in which case nothing is archived."""
        now = timezone.now()
        changes: dict = (
            {"lease_token": "", "lease_expires_at": None}
            if release
            else {"lease_expires_at": now + _lease_duration()}
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
        if self.accepted:
            self.channel.failure_streak = 0
            latency = metrics.delivery_latency.labels(channel=self.channel.name)
            for report in self.accepted:
                latency.observe(max((now - report.created_at).total_seconds(), 0.0))
        self.accepted.clear()
        self.sent_keys.clear()  # archived: the database answers from now on
        return True


def _drain_leased(run: _Run, max_count: int, result: DrainResult) -> None:
    channel = run.channel
    transport = transport_for(channel)
    last_pk = 0
    while result.sent < max_count:
        limit = max_count - result.sent
        batch = _pending(channel, last_pk, limit)
        for report in batch:
            last_pk = report.pk
            if not run.keep_lease():
                result.stopped = "lease lost"
                return
            if (first := run.sent_duplicate(report)) is not None:
                if _suppress(channel, report, first):
                    result.suppressed += 1
                continue

            try:
                # The request that raised the report, on every line about sending it.
                raised_by = {"request_id": report.request_id} if report.request_id else {}
                with structlog.contextvars.bound_contextvars(**raised_by):
                    transport.send(render(report))
                    logger.info("channel %s: report %s sent", channel, report.pk)
            except TransportError as error:
                if not run.settle(release=False):
                    result.stopped = "lease lost"
                    return
                if error.permanent:
                    _fail(channel, report, error.message)
                    result.failed += 1
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
            run.accept(report)
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


def _fail(channel: Channel, report: OwnerReport, error: str) -> None:
    """A permanent error: the report is given up (replayable), the owner is told elsewhere,
    and the channel moves on to the next report instead of blocking on this one forever."""
    now = timezone.now()
    logger.warning("channel %s refused report %s permanently: %s", channel, report.pk, error)
    with transaction.atomic():
        OwnerReport.objects.filter(pk=report.pk, state=Pending).update(
            state=OwnerReport.State.FAILED,
            attempts=F("attempts") + 1,
            last_attempt_at=now,
            last_error=error,
        )
        Channel.objects.filter(pk=channel.pk).update(
            last_error=error, permanent_error_total=F("permanent_error_total") + 1
        )
        channel_failed_report(channel=channel, report=report, error=error)


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
        OwnerReport.objects.filter(pk=report.pk, state=Pending).update(
            attempts=F("attempts") + 1, last_attempt_at=now, last_error=error.message
        )
        Channel.objects.filter(pk=channel.pk).update(
            failure_streak=streak,
            retry_at=now + delay,
            last_error=error.message,
            transient_error_total=F("transient_error_total") + 1,
        )
    channel.failure_streak = streak
    if delay.total_seconds() < settings.PLS_NOTIFY_SWEEP_SECONDS:
        # Sooner than the next sweep: ask for the retry precisely.
        from notifications.tasks import drain_channel

        try:
            drain_channel.apply_async(
                args=[channel.pk], countdown=delay.total_seconds(), retry=False
            )
        except Exception:  # the sweep retries anyway
            logger.info("channel %s: retry left to the beat sweep", channel)


def _preview(channel: Channel, max_count: int, result: DrainResult) -> DrainResult:
    """What a run would do, rendered, with nothing sent or changed."""
    would_send: dict[str, int] = {}
    last_pk = 0
    while result.sent < max_count:
        batch = _pending(channel, last_pk, max_count - result.sent)
        if not batch:
            break
        for report in batch:
            last_pk = report.pk
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
            result.sent += 1
            result.preview.append(render(report).text)
            if result.sent >= max_count:
                break
    return result


def outbox_sweep() -> list[int]:
    """Routes reports that were waiting for a channel and asks for a drain of every channel
    with work ready; returns those channels' ids."""
    report_route_unrouted()
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
