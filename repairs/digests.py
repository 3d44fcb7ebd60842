"""The owner's scheduled digests, built from this app's records and registered with the
outbox (``notifications.digests``) when the app is ready."""

from collections import Counter
from datetime import timedelta
from typing import Any

from django.db.models import Count
from django.utils import timezone
from django.utils.timesince import timesince

from policies.models import Proposal
from policies.selectors import open_question_count
from repairs.models import Gate, RepairEvent, SelfHealRequest


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


def weekly_learning_review() -> dict[str, Any]:
    """The last 7 days: friction reported, the top error classes and proposals decided."""
    since = timezone.now() - timedelta(days=7)
    events = RepairEvent.objects.filter(occurred_at__gte=since)
    friction = events.filter(gate=Gate.FRICTION)
    top = Counter(
        dict(events.order_by().values_list("error_class").annotate(n=Count("id")))
    ).most_common(5)
    decided = Proposal.objects.filter(updated_at__gte=since).exclude(status__in=Proposal.UNDECIDED)
    return {
        "title": f"Weekly learning review: {friction.count()} friction report(s)",
        "done": _line("top error classes", dict(top))
        + "\n"
        + _line("proposals decided", dict(decided.values_list("status").annotate(n=Count("id")))),
        "progress": "\n".join(f"- {m}" for m in friction.values_list("message", flat=True)[:10]),
        "next_step": "Review friction and adopt or retire repairs in the console.",
    }


def _line(label: str, counts: dict[str, int]) -> str:
    shown = ", ".join(f"{key} {n}" for key, n in sorted(counts.items())) or "none"
    return f"{label}: {shown}"
