"""How a report reads on a channel: the same plain text everywhere, built from the report's
own fields only, so no channel credential can end up in a message. It is written in the
channel's language and time zone (blank: the console's), and its time says its zone; the
structured ``fields`` stay stable (``created_at`` in ISO 8601 UTC)."""

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.audience import speaking_to
from core.clock import when
from notifications.buttons import buttons_for
from notifications.models import OwnerReport
from notifications.transports import Message

# Read in the channel's language, as the rest of the message.
_MARKERS = {"warning": gettext_lazy("[WARNING]"), "critical": gettext_lazy("[CRITICAL]")}


def _marker(status: str) -> str:
    return f"{_MARKERS[status]} " if status in _MARKERS else ""


def render(report: OwnerReport) -> Message:
    channel = report.channel
    with speaking_to(
        language=channel.language if channel else "",
        time_zone=channel.time_zone if channel else "",
    ):
        return _written(report)


def _written(report: OwnerReport) -> Message:
    who = " · ".join(
        part
        for part in (
            _("team %(team)s") % {"team": report.team} if report.team else "",
            _("worker %(worker)s") % {"worker": report.worker} if report.worker else "",
            _("task %(task)s") % {"task": report.task_id} if report.task_id else "",
        )
        if part
    )
    marker = _marker(report.status)
    lines = [f"{marker}{report.title}"]
    if who:
        lines.append(who)
    for label, value in (
        (_("Progress"), report.progress),
        (_("Done"), report.done),
        (_("Next"), report.next_step),
    ):
        if value:
            lines.append(f"{label}: {value}")
    link = deep_link(report.link)
    if link:
        opens = _("Open: %(link)s") if link.startswith("http") else _("In the console: %(link)s")
        lines.append(opens % {"link": link})
    lines.append(
        _("— %(source)s · report #%(id)s · %(when)s")
        % {"source": report.source, "id": report.pk, "when": when(report.created_at)}
    )
    return Message(
        report_id=report.pk,
        source=report.source,
        status=report.status,
        title=report.title,
        subject=f"[PLS] {marker}{report.title}",
        text="\n".join(lines),
        fields={
            "id": report.pk,
            "source": report.source,
            "status": report.status,
            "title": report.title,
            "team": report.team,
            "worker": report.worker,
            "task_id": report.task_id,
            "progress": report.progress,
            "done": report.done,
            "next": report.next_step,
            "role": report.role,
            "created_at": report.created_at.isoformat(),
            "link": link,
        },
        link=link if link.startswith("http") else "",
        buttons=(
            buttons_for(report.decision_kind, report.decision_id)
            if report.decision_kind and report.decision_id is not None
            else ()
        ),
    )


def deep_link(path: str) -> str:
    """The console address of ``path``: under ``PLS_PUBLIC_URL``, or the bare path when the
    console's public address is not configured (a reader who knows it can still follow)."""
    if not path:
        return ""
    return f"{settings.PLS_PUBLIC_URL}{path}" if settings.PLS_PUBLIC_URL else path
