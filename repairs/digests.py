"""The owner's daily scorecard, built from this app's records and registered with the
outbox (``notifications.digests``) when the app is ready."""

from datetime import timedelta
from typing import Any

from django.db.models import Count
from django.utils import timezone
from django.utils.timesince import timesince

from policies.models import Proposal
from policies.selectors import open_question_count
from repairs.models import RepairEvent, SelfHealRequest


def daily_scorecard() -> dict[str, Any]:
    """The last 24 hours: events by gate, verdicts, and what is waiting for a human."""
    now = timezone.now()
    events = RepairEvent.objects.filter(occurred_at__gte=now - timedelta(days=1))
    by_gate = dict(events.order_by().values_list("gate").annotate(n=Count("id")))
    by_decision = dict(
        events.exclude(decision="").order_by().values_list("decision").annotate(n=Count("id"))
    )
    pending = SelfHealRequest.objects.filter(status=SelfHealRequest.Status.PENDING)
    oldest = pending.order_by("created_at").values_list("created_at", flat=True).first()
    open_proposals = Proposal.objects.filter(status__in=Proposal.UNDECIDED).count()
    waiting = pending.count()
    return {
        "title": f"Daily scorecard: {sum(by_gate.values())} repair events in 24 h",
        "status": "warning" if waiting else "normal",
        "done": _line("by gate", by_gate) + "\n" + _line("verdicts", by_decision),
        "progress": (
            f"{waiting} self-heal request(s) pending"
            + (f", oldest {timesince(oldest, now)}" if oldest else "")
            + f"; {open_proposals} open proposal(s); {open_question_count()} open policy "
            "question(s)."
        ),
        "next_step": "Decide what is waiting in the console." if waiting or open_proposals else "",
    }


def _line(label: str, counts: dict[str, int]) -> str:
    shown = ", ".join(f"{key} {n}" for key, n in sorted(counts.items())) or "none"
    return f"{label}: {shown}"
