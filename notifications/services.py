"""Every write to channels and owner reports goes through these functions.

Other apps call ``report_enqueue``; nothing here imports them, so notifications stay at the
bottom of the dependency graph.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import models, transaction
from django.db.models import Min, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from core.audience import later, speaking_to
from core.audit import ADDITION, CHANGE, DELETION, Said, audit_record, said
from core.clock import local_date
from core.logs import current_request_id
from core.models import WEBHOOK_SECRET_FIELDS
from core.redaction import redact
from core.retention import DEFAULT_BATCH, delete_in_batches
from core.roles import PLS_OWNER
from notifications import digests, drain_requests
from notifications.models import Channel, OwnerReport, Status

logger = logging.getLogger(__name__)
# The fields a caller fills with prose, which may quote a worker's message.
_FREE_TEXT = ("title", "progress", "done", "next_step")


def _matching_channels(*, role: str, team: str, status: str) -> QuerySet[Channel]:
    """Enabled channels that want a report with this role, team and status, oldest first.

    A channel's blank role or team means "all". A report for no role in particular ("") is
    for the owner, so it reaches catch-all and ``pls_owner`` channels.
    """
    roles = ["", role] if role else ["", PLS_OWNER]
    teams = ["", team] if team else [""]
    return Channel.objects.filter(
        enabled=True,
        role__in=roles,
        team__in=teams,
        min_status__in=[s for s in Status.values if status in Status.at_least(s)],
    ).order_by("pk")


def report_enqueue(
    *,
    source: str,
    title: str | Promise,
    status: str = "normal",
    team: str = "",
    worker: str = "",
    task_id: str = "",
    progress: str | Promise = "",
    done: str | Promise = "",
    next_step: str | Promise = "",
    role: str = "",
    dedup_key: str = "",
    error_class: str = "",
    channel: str | None = None,
    link: str = "",
    decision_kind: str = "",
    decision_id: int | None = None,
) -> list[OwnerReport]:
    """Writes a report to the outbox, one row per channel that wants it, in the caller's
    transaction, and asks Celery to drain those channels once that transaction commits.

    ``channel`` names one channel to use instead of the role/team/status routing (it may be
    disabled or muted: the report then waits for it). When no channel matches, the report is
    kept as one ``unrouted`` row and routed as soon as a matching channel exists; nothing is
    dropped. Never raises for a broker or channel problem: sending happens later, elsewhere.
    Reports with an ``error_class`` are grouped with those of the same source and class
    raised within ``PLS_NOTIFY_GROUP_WAIT_SECONDS`` (notifications.grouping).

    ``title``, ``progress``, ``done`` and ``next_step`` may be lazy texts
    (``core.audience.later``): each channel's row is then written in its own language and
    time zone.

    ``link`` is the console path of the record the report is about (a ``reverse()`` of its
    admin page); the message shows it under ``PLS_PUBLIC_URL``. ``decision_kind`` and
    ``decision_id`` name a pending decision the report asks for (``DecisionKind``): on chat
    channels that take interactions its message carries Approve / Reject buttons.
    """
    return _enqueue(
        source=source,
        title=title,
        status=status,
        team=team,
        worker=worker,
        task_id=task_id,
        progress=progress,
        done=done,
        next_step=next_step,
        role=role,
        dedup_key=dedup_key,
        error_class=error_class,
        channel=channel,
        link=link,
        decision_kind=decision_kind,
        decision_id=decision_id,
    )


def _enqueue(
    *, channel: str | None, exclude: Channel | None = None, **fields: Any
) -> list[OwnerReport]:
    if fields["status"] not in Status.values:
        raise ValueError(f"status must be one of {Status.values}, not {fields['status']!r}")
    if bool(fields.get("decision_kind")) != (fields.get("decision_id") is not None):
        raise ValueError("decision_kind and decision_id go together")
    targets: list[Channel]
    if channel is not None:
        named = Channel.objects.filter(name=channel).first()
        if named is None:
            # A wrong name is a bug in the caller, but the caller's business change must not
            # fail because of it, and the report must not be lost: route it normally.
            logger.warning(
                "report %s names unknown channel %r; routing it normally", fields["source"], channel
            )
        targets = [named] if named is not None else []
    if channel is None or not targets:
        targets = list(
            _matching_channels(role=fields["role"], team=fields["team"], status=fields["status"])
        )
    if exclude is not None:
        targets = [c for c in targets if c.pk != exclude.pk]

    now = timezone.now()
    fields["request_id"] = current_request_id()
    if not targets:
        reports = [
            OwnerReport.objects.create(
                state=OwnerReport.State.UNROUTED, created_at=now, **_written(fields, None)
            )
        ]
        logger.info("report %s has no matching channel yet; kept unrouted", fields["source"])
        return reports

    reports = OwnerReport.objects.bulk_create(
        [
            OwnerReport(
                channel=c, state=OwnerReport.State.PENDING, created_at=now, **_written(fields, c)
            )
            for c in targets
        ]
    )
    request_drain_on_commit([c.pk for c in targets])
    return reports


def _written(fields: dict[str, Any], channel: Channel | None) -> dict[str, Any]:
    """The report's fields as ``channel`` reads them: a lazy text (``core.audience.later``)
    is written in the channel's language and time zone (no channel: the console's)."""
    with speaking_to(
        language=channel.language if channel else "",
        time_zone=channel.time_zone if channel else "",
    ):
        written = {
            name: str(value) if isinstance(value, Promise) else value
            for name, value in fields.items()
        }
    for name in OwnerReport.CONTENT_FIELDS:
        if name not in written:
            continue
        if name in _FREE_TEXT:
            # Callers pass redacted text; this is the second net, since a report leaves the
            # building.
            written[name] = redact(written[name]).text
        # Cut to the column, never refused: a long title must not fail the caller's change.
        column = OwnerReport._meta.get_field(name)
        limit = column.max_length if isinstance(column, models.Field) else None
        if limit:
            written[name] = written[name][:limit]
    return written


def request_drain_on_commit(channel_ids: Iterable[int]) -> None:
    """Asks Celery to drain these channels after the current transaction commits, once per
    channel however many reports the transaction raised."""
    # The wanted channels are collected on the connection whose commit releases them. Each
    # call registers its own callback, so a rolled-back savepoint that took the first one
    # away cannot lose the request; the first callback to run sends them all.
    connection = transaction.get_connection()
    if not any(entry[1] is _flush_drain_requests for entry in connection.run_on_commit):
        connection.__dict__[_DRAIN_WANTED] = set()  # left over from a rolled-back transaction
    connection.__dict__[_DRAIN_WANTED].update(channel_ids)
    transaction.on_commit(_flush_drain_requests)


_DRAIN_WANTED = "_pls_outbox_drain_wanted"


def _flush_drain_requests() -> None:
    wanted = transaction.get_connection().__dict__.pop(_DRAIN_WANTED, None)
    if wanted:
        request_drain(sorted(wanted))


def request_drain(channel_ids: Iterable[int], *, coalesce: bool = True) -> bool:
    """Asks Celery to drain these channels (those without a drain task already waiting,
    unless ``coalesce`` is off); False if the broker is unavailable.

    Never raises and never waits long: a report whose task could not be sent is still in
    the outbox, and the beat sweep (every ``PLS_NOTIFY_SWEEP_SECONDS``) sends it.
    """
    return drain_requests.publish_drains(channel_ids, coalesce=coalesce)


def report_route_unrouted(*, limit: int = 500, notify: bool = True) -> int:
    """Gives unrouted reports to the channels that now match them (one row per channel);
    returns how many reports were routed. The unrouted row itself becomes the first
    channel's row, so its place in that channel's order is the moment it was raised.

    Reports are taken by their (role, team, status): few distinct ones, so reports that
    still match no channel cost one query per sweep, however many there are.
    """
    routed = 0
    touched: set[int] = set()
    unrouted = OwnerReport.objects.filter(state=OwnerReport.State.UNROUTED)
    kinds = unrouted.order_by().values_list("role", "team", "status").distinct()
    for role, team, status in kinds:
        targets = list(_matching_channels(role=role, team=team, status=status))
        if not targets:
            continue
        first, *others = targets
        same_kind = unrouted.filter(role=role, team=team, status=status).order_by("pk")
        for report in same_kind[: limit - routed]:
            with transaction.atomic():
                # Compare-and-set: two concurrent sweeps route a report once.
                claimed = OwnerReport.objects.filter(
                    pk=report.pk, state=OwnerReport.State.UNROUTED
                ).update(channel=first, state=OwnerReport.State.PENDING)
                if not claimed:
                    continue
                OwnerReport.objects.bulk_create([_copy_for(report, c) for c in others])
            routed += 1
            touched.update(c.pk for c in targets)
        if routed >= limit:
            break
    if touched and notify:
        request_drain_on_commit(touched)
    return routed


def _copy_for(report: OwnerReport, channel: Channel) -> OwnerReport:
    return OwnerReport(
        channel=channel,
        state=OwnerReport.State.PENDING,
        created_at=report.created_at,
        request_id=report.request_id,
        **{name: getattr(report, name) for name in OwnerReport.CONTENT_FIELDS},
    )


def channel_failed_report(
    *, channel: Channel, report: OwnerReport, error: str, handed_to: Channel | None = None
) -> list[OwnerReport]:
    """Tells the owner, on every other channel, that ``channel`` refused a report for good
    (and, with ``handed_to``, that its fallback took the report)."""
    if report.source == "channel.failed":
        # A broken channel reporting another broken channel would ping-pong forever.
        return []
    title = later(
        _("Channel %(channel)s refused a report permanently; fix it")
        if handed_to
        else _("Channel %(channel)s refused a report permanently; fix it, then replay"),
        channel=channel.name,
    )
    done = (
        later(
            _("Report #%(id)s (%(source)s) went to the fallback %(fallback)s instead: %(error)s"),
            id=report.pk,
            source=report.source,
            fallback=handed_to.name,
            error=error,
        )
        if handed_to
        else later(
            _("Report #%(id)s (%(source)s) was marked failed: %(error)s"),
            id=report.pk,
            source=report.source,
            error=error,
        )
    )
    return _enqueue(
        source="channel.failed",
        title=title,
        status=Status.CRITICAL,
        team="",
        worker="",
        task_id=str(report.pk),
        progress="",
        done=done,
        next_step=later(
            _(
                "Check channel %(channel)s (%(kind)s) in the console, then replay its failed "
                "reports."
            ),
            channel=channel.name,
            kind=Channel.Kind(channel.kind).label,
        ),
        role=PLS_OWNER,
        dedup_key=f"channel.failed:{channel.name}",
        error_class="",
        link=reverse("admin:notifications_channel_change", args=[channel.pk]),
        decision_kind="",
        decision_id=None,
        channel=None,
        exclude=channel,
    )


def channel_save(*, channel: Channel, by: AbstractBaseUser | None = None) -> Channel:
    """Creates or updates a channel from the console.

    Saving a channel is how an owner fixes one, so its backoff is cleared and it is tried
    again at once; reports that had no channel are routed to it if it matches them. ``by``'s
    audit entry names the fields changed (never a secret's value) and a mute or unmute.
    """
    channel.full_clean()
    channel.failure_streak = 0
    channel.retry_at = None
    channel.paused_until = None
    with transaction.atomic():
        before = Channel.objects.filter(pk=channel.pk).first() if channel.pk else None
        channel.save()
        report_route_unrouted()
        request_drain_on_commit([channel.pk])
        audit_record(
            user=by,
            obj=channel,
            action_flag=CHANGE if before else ADDITION,
            message=_channel_change(before, channel),
        )
    return channel


def channel_webhook_secret_rotate(*, channel: Channel, overlap: timedelta | None = None) -> str:
    """Gives the channel a new signing secret and returns it: the one time it is shown.
    The old one keeps signing beside it for ``overlap`` (``PLS_WEBHOOK_SECRET_OVERLAP_HOURS``
    by default; zero stops it at once)."""
    now = timezone.now()
    secret = channel.webhook_secret_rotate(
        now, settings.PLS_WEBHOOK_SECRET_OVERLAP if overlap is None else overlap
    )
    channel.save(update_fields=[*WEBHOOK_SECRET_FIELDS, "updated_at"])
    return secret


def _channel_change(before: Channel | None, after: Channel) -> Said:
    if before is None:
        return said(
            gettext_noop("Added the %(kind)s channel %(name)s."), kind=after.kind, name=after.name
        )
    changed = [
        field.name
        for field in Channel._meta.concrete_fields
        if field.name not in ("failure_streak", "retry_at", "paused_until", "updated_at")
        and getattr(before, field.attname) != getattr(after, field.attname)
    ]
    saved = (
        said(gettext_noop("Changed %(fields)s."), fields=", ".join(changed))
        if changed
        else said(gettext_noop("Saved unchanged."))
    )
    if "muted_until" not in changed:
        return saved
    muted = (
        said(gettext_noop("Muted until %(until)s."), until=after.muted_until.isoformat())
        if after.muted_until
        else said(gettext_noop("Unmuted."))
    )
    return said(gettext_noop("%(saved)s %(muted)s"), saved=saved, muted=muted)


def channel_send_test(*, channel: Channel, by: AbstractBaseUser | None = None) -> list[OwnerReport]:
    """Queues a test report for this channel only. It goes through the outbox like any
    report, so it proves the whole path (and waits behind the channel's older reports)."""
    audit_record(
        user=by, obj=channel, action_flag=CHANGE, message=said(gettext_noop("Sent a test report."))
    )
    return report_enqueue(
        source="channel.test",
        title=f"Test report for channel {channel.name}",
        done="The owner asked the console to send a test report.",
        next_step="Nothing to do: this channel works.",
        channel=channel.name,
        link=reverse("admin:notifications_channel_change", args=[channel.pk]),
    )


def report_replay_failed(*, report_ids: Iterable[int], by: AbstractBaseUser | None = None) -> int:
    """Puts failed reports back in the outbox. Each keeps its original place (its id), so
    replayed reports go out in the order they were first raised, before anything newer.
    The channels' backoff is cleared: a replay is the owner saying "try now".
    """
    with transaction.atomic():
        failed = OwnerReport.objects.filter(pk__in=list(report_ids), state=OwnerReport.State.FAILED)
        channel_ids = set(failed.values_list("channel_id", flat=True))
        replaying = list(failed.values_list("pk", flat=True))
        replayed = failed.update(state=OwnerReport.State.PENDING)
        audit_record(
            user=by,
            obj=OwnerReport.objects.filter(pk__in=replaying),
            action_flag=CHANGE,
            message=said(gettext_noop("Replayed (back in the outbox, in its original place).")),
        )
        Channel.objects.filter(pk__in=channel_ids).update(failure_streak=0, retry_at=None)
        request_drain_on_commit(channel_ids)
    return replayed


ARCHIVED_STATES = (
    OwnerReport.State.SENT,
    OwnerReport.State.SUPPRESSED,
    OwnerReport.State.HANDED_OVER,  # its fallback delivery is the record that counts
)


def report_purge_archived(
    *,
    older_than_days: int | None = None,
    cutoff: datetime | None = None,
    batch_size: int = DEFAULT_BATCH,
    by: AbstractBaseUser | None = None,
) -> int:
    """Deletes sent, suppressed and handed-over reports raised before ``cutoff`` (or
    ``older_than_days`` ago): retention's ``reports`` kind, the console's "Purge archived"
    and ``purge_reports``.

    Pending, unrouted and failed reports are never purged: they still need someone. Nor is
    the first sent report of each digest, which the milestones show as their proof. Deletes
    ``batch_size`` reports per transaction, so a large purge never holds a long lock on the
    outbox.
    """
    if cutoff is None:
        if older_than_days is None or older_than_days < 0:
            raise ValueError("older_than_days must be 0 or more")
        cutoff = timezone.now() - timedelta(days=older_than_days)
    first_digests = (
        OwnerReport.objects.filter(source__startswith="digest.", state=OwnerReport.State.SENT)
        .values("source")
        .annotate(first=Min("pk"))
        .values("first")
    )
    purged = delete_in_batches(
        OwnerReport.objects.filter(state__in=ARCHIVED_STATES, created_at__lt=cutoff).exclude(
            pk__in=first_digests
        ),
        batch_size=batch_size,
    )
    if by is not None:
        with transaction.atomic():
            audit_record(
                user=by,
                obj=OwnerReport,
                action_flag=DELETION,
                message=said(
                    gettext_noop("Purged %(count)s archived report(s) raised before %(cutoff)s."),
                    count=purged,
                    cutoff=cutoff.isoformat(timespec="seconds"),
                ),
            )
    return purged


def digest_enqueue(*, name: str) -> list[OwnerReport]:
    """Builds the named digest with the builder another app registered and enqueues it.

    Each channel reads it in its own language and time zone: the builder runs once per
    audience (``Channel.language``, ``Channel.time_zone``; blank is the console's), inside
    ``speaking_to``, whatever language the caller was speaking.

    Once per digest and day (the console's calendar day): if beat runs twice (two beat
    processes, a restart at the wrong moment), the dedup key keeps the owner from reading
    the same digest twice.
    """
    builder = digests.builder(name)
    if builder is None:
        logger.info("no builder registered for digest %r; nothing sent", name)
        return []
    with speaking_to():
        fields = builder()
    if not fields:
        return []  # the builder had nothing worth saying
    fields.setdefault("source", f"digest.{name}")
    fields.setdefault("dedup_key", f"digest.{name}:{local_date(timezone.now()):%Y-%m-%d}")
    targets = _matching_channels(
        role=fields.get("role", ""),
        team=fields.get("team", ""),
        status=fields.get("status", Status.NORMAL),
    )
    audiences: dict[tuple[str, str], list[str]] = {}
    for channel in targets:
        audiences.setdefault((channel.language, channel.time_zone), []).append(channel.name)
    if set(audiences) <= {("", "")}:
        return report_enqueue(**fields)  # one text for all, and kept if no channel wants it
    reports: list[OwnerReport] = []
    for (language, time_zone), names in audiences.items():
        with speaking_to(language=language, time_zone=time_zone):
            written = builder() if (language, time_zone) != ("", "") else fields
        if not written:
            continue
        written = {"source": fields["source"], "dedup_key": fields["dedup_key"], **written}
        for channel_name in names:
            reports += report_enqueue(**written, channel=channel_name)
    return reports
