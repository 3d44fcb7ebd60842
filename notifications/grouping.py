"""Grouping, after Alertmanager's ``group_by`` / ``group_wait``: reports of one source and
error class raised within ``PLS_NOTIFY_GROUP_WAIT_SECONDS`` of the first go to a channel as
one message, with the count and the first ``PLS_NOTIFY_GROUP_SHOWN`` of them.

Only reports raised with an ``error_class`` are grouped (a stuck claim, say); a report that
asks one person for one decision never is. The group goes out at its first report's place
in the channel's order, once that report's window has closed: until then the channel sends
nothing newer, so order holds. The outbox keeps one row per report; the drain archives the
whole group in one transaction, each row naming the group's first report (``grouped_into``),
so the group is delivered once or, after a failure, tried again whole.
"""

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.utils.translation import gettext as _

from core.audience import speaking_to
from notifications.models import OwnerReport, Status
from notifications.render import render
from notifications.transports import Message

# Reports one message stands for at most; more of the same form the next group.
_GROUP_MAX = 5000


def group_wait() -> timedelta | None:
    seconds = settings.PLS_NOTIFY_GROUP_WAIT_SECONDS
    return timedelta(seconds=seconds) if seconds > 0 else None


def group_closes(report: OwnerReport) -> datetime | None:
    """When the group this report opens stops taking reports; None if it is not grouped."""
    wait = group_wait()
    if not report.error_class or wait is None:
        return None
    return report.created_at + wait


def group_members(report: OwnerReport, *, taken: Collection[int] = ()) -> list[OwnerReport]:
    """``report`` and the pending reports of its channel, source and error class raised
    before its group closed, oldest first (``taken``: already sent in this run)."""
    closes = group_closes(report)
    if closes is None:
        return [report]
    members = (
        OwnerReport.objects.filter(
            channel_id=report.channel_id,
            state=OwnerReport.State.PENDING,
            source=report.source,
            error_class=report.error_class,
            created_at__lt=closes,
            pk__gt=report.pk,
        )
        .exclude(pk__in=list(taken))
        .order_by("pk")[: _GROUP_MAX - 1]
    )
    return [report, *members]


def render_group(members: Sequence[OwnerReport]) -> Message:
    """One message for the group: how many, of what, over how long, and the first few."""
    if len(members) == 1:
        return render(members[0])
    first, last = members[0], members[-1]
    shown = settings.PLS_NOTIFY_GROUP_SHOWN
    status = max((m.status for m in members), key=Status.values.index)
    marker = {"warning": "[WARNING] ", "critical": "[CRITICAL] "}.get(status, "")
    span = int((last.created_at - first.created_at).total_seconds())
    channel = first.channel
    with speaking_to(
        language=channel.language if channel else "",
        time_zone=channel.time_zone if channel else "",
    ):
        title = _("%(count)s reports of %(source)s (%(error_class)s) in %(span)s s") % {
            "count": len(members),
            "source": first.source,
            "error_class": first.error_class,
            "span": span,
        }
        lines = [f"{marker}{title}", _("First %(count)s:") % {"count": min(shown, len(members))}]
        lines += [f"• {member.title}" for member in members[:shown]]
        if len(members) > shown:
            lines.append(
                _("… and %(count)s more (reports #%(first)s to #%(last)s)")
                % {"count": len(members) - shown, "first": first.pk, "last": last.pk}
            )
        lines.append(
            _("— %(source)s · group #%(id)s (%(count)s reports)")
            % {"source": first.source, "id": first.pk, "count": len(members)}
        )
    fields = render(first).fields
    fields.update(
        status=status,
        title=title,
        group={
            "id": first.pk,
            "count": len(members),
            "error_class": first.error_class,
            "report_ids": [m.pk for m in members],
        },
    )
    return Message(
        report_id=first.pk,
        source=first.source,
        status=status,
        title=title,
        subject=f"[PLS] {marker}{title}",
        text="\n".join(lines),
        fields=fields,
    )
