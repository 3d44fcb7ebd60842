"""How a report reads on a channel: the same plain text everywhere, built from the report's
own fields only, so no channel credential can end up in a message."""

from django.utils.translation import gettext as _

from notifications.models import OwnerReport
from notifications.transports import Message

_MARKERS = {"normal": "", "warning": "[WARNING] ", "critical": "[CRITICAL] "}


def render(report: OwnerReport) -> Message:
    who = " · ".join(
        part
        for part in (
            _("team %(team)s") % {"team": report.team} if report.team else "",
            _("worker %(worker)s") % {"worker": report.worker} if report.worker else "",
            _("task %(task)s") % {"task": report.task_id} if report.task_id else "",
        )
        if part
    )
    lines = [f"{_MARKERS.get(report.status, '')}{report.title}"]
    if who:
        lines.append(who)
    for label, value in (
        (_("Progress"), report.progress),
        (_("Done"), report.done),
        (_("Next"), report.next_step),
    ):
        if value:
            lines.append(f"{label}: {value}")
    lines.append(_("— %(source)s · report #%(pk)s") % {"source": report.source, "pk": report.pk})
    return Message(
        report_id=report.pk,
        source=report.source,
        status=report.status,
        title=report.title,
        subject=f"[PLS] {_MARKERS.get(report.status, '')}{report.title}",
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
        },
    )
