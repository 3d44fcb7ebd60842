"""The weekly learning review the owner receives through the outbox: what the fleet learned
this week, what it found in the way (friction), and where it failed most. Registered with
``notifications.digests`` from ``LearningConfig.ready()``; beat sends it on Mondays."""

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from learning.models import LearningMemoryUpdate
from policies.models import Proposal
from repairs.models import Gate, RepairEvent

Kind = LearningMemoryUpdate.Kind
Review = LearningMemoryUpdate.Review


def weekly_learning_review() -> dict[str, Any]:
    """The last 7 days: new lessons and lessons learned again, friction reports (the
    ``policy_friction`` updates and the ``friction`` gate's events), the top error classes,
    proposals decided, and how many lessons wait for review."""
    now = timezone.now()
    since = now - timedelta(days=7)
    shown = settings.PLS_LEARNING_DIGEST_MAX_LINES
    updates = LearningMemoryUpdate.objects.order_by()
    lessons = updates.exclude(kind=Kind.POLICY_FRICTION)
    new = lessons.filter(created_at__gte=since)
    again = lessons.filter(created_at__lt=since, last_seen_at__gte=since)
    friction_updates = updates.filter(kind=Kind.POLICY_FRICTION, last_seen_at__gte=since)
    events = RepairEvent.objects.filter(occurred_at__gte=since).order_by()
    friction_events = events.filter(gate=Gate.FRICTION)
    new_count, again_count = new.count(), again.count()
    friction_count = friction_events.count() + friction_updates.count()
    top = list(
        events.exclude(gate=Gate.REPAIR_SUGGESTED)
        .values_list("error_class")
        .annotate(n=Count("id"))
        .order_by("-n", "error_class")[:5]
    )
    decided = dict(
        Proposal.objects.filter(updated_at__gte=since)
        .exclude(status__in=Proposal.UNDECIDED)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    pending = updates.filter(review=Review.PENDING).count()

    title = f"Weekly learning review: {friction_count} friction report(s)"
    if new_count or again_count:
        title += f", {new_count} new lesson(s), {again_count} learned again"
    done = [
        "top error classes: " + (", ".join(f"{name} {n}" for name, n in top) or "none"),
        _line("new lessons by kind", dict(new.values_list("kind").annotate(n=Count("id")))),
        _line("proposals decided", decided),
    ]
    sections = [
        _section(
            f"New lessons ({new_count})",
            (_lesson(u) for u in new.order_by("next_round_priority", "-occurrences", "id")[:shown]),
        ),
        _section(
            f"Learned again ({again_count})",
            (_lesson(u) for u in again.order_by("-occurrences", "id")[:shown]),
        ),
        _section(
            f"Friction ({friction_count})",
            [
                *(
                    f"- {u.error_class}: {u.lesson} ({u.occurrences}x)"
                    for u in friction_updates.order_by("-occurrences", "id")[:shown]
                ),
                *(
                    f"- {message}"
                    for message in friction_events.order_by("-occurred_at").values_list(
                        "message", flat=True
                    )[:shown]
                    if message
                ),
            ],
        ),
    ]
    return {
        "title": title,
        "done": "\n".join(done),
        "progress": "\n\n".join(section for section in sections if section),
        "next_step": (
            f"Review {pending} pending lesson(s) in the console: accepted ones go into the "
            "teams' prompt packs."
            if pending
            else "Review friction and adopt or retire repairs in the console."
        ),
    }


def _lesson(update: LearningMemoryUpdate) -> str:
    scope = update.team or "fleet"
    return (
        f"- [{scope}] {update.error_class} P{update.next_round_priority}: {update.lesson} "
        f"({update.occurrences}x, {update.review})"
    )


def _section(heading: str, lines: Iterable[str]) -> str:
    lines = list(lines)
    return f"{heading}:\n" + "\n".join(lines) if lines else ""


def _line(label: str, counts: dict[str, int]) -> str:
    shown = ", ".join(f"{key} {n}" for key, n in sorted(counts.items())) or "none"
    return f"{label}: {shown}"
