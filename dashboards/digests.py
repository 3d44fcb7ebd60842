"""The owner's digests, registered with the outbox (``notifications.digests``) when the app
is ready: the daily scorecard and the weekly learning review.

The daily scorecard: the day's events by gate and verdict and what waits for a human, then
the rolling 7-day scorecard read through the same selectors as ``GET /api/v1/scorecard`` and
the console home, so the owner's message and the console never disagree.

The weekly learning review (beat sends it on Mondays): what the fleet learned this week,
what it found in the way (friction), and where it failed most. It reads the learning memory
beside the repair events, so it lives here, above both.
"""

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from core.clock import when
from core.money import money
from dashboards.scorecard import build_scorecard
from dashboards.templatetags.console import duration, label
from learning.models import LearningMemoryUpdate
from policies.models import Proposal
from policies.selectors import open_question_count
from repairs.models import Gate, RepairEvent, SelfHealRequest

DIGEST_DAYS = 7


def daily_scorecard() -> dict[str, Any]:
    """The last 24 hours (events by gate, verdicts, what is waiting for a human), then the
    rolling scorecard."""
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
    # The period it covers, in the reader's zone (a channel's, inside ``speaking_to``).
    period = _("from %(start)s to %(end)s") % {
        "start": when(now - timedelta(days=1)),
        "end": when(now),
    }
    day = "\n".join(
        [
            period,
            _line(_("by gate"), by_gate, "gate"),
            _line(_("verdicts"), by_decision, "verdict"),
        ]
    )
    return {
        "title": _("Daily scorecard: %(n)s repair events in 24 h") % {"n": sum(by_gate.values())},
        "status": "warning" if waiting else "normal",
        "done": day + "\n" + scorecard_lines(build_scorecard(days=DIGEST_DAYS)),
        "progress": (
            _("%(n)s self-heal request(s) pending") % {"n": waiting}
            + (_(", oldest %(age)s") % {"age": timesince(oldest, now)} if oldest else "")
            + _("; %(proposals)s open proposal(s); %(questions)s open policy question(s).")
            % {"proposals": open_proposals, "questions": open_question_count()}
        ),
        "next_step": _("Decide what is waiting in the console.")
        if waiting or open_proposals
        else "",
        # The console home shows the same panels and the scorecard.
        "link": reverse("admin:index"),
    }


def _line(heading: str, counts: dict[str, int], vocabulary: str) -> str:
    """``heading: label n, label n``, the codes counted by shown by their labels."""
    shown = ", ".join(f"{label(key, vocabulary)} {n}" for key, n in sorted(counts.items()))
    return f"{heading}: {shown or _('none')}"


def scorecard_lines(card: dict) -> str:
    retries = card["retries"]
    stuck = card["stuck_claims"]
    guard = card["artifact_guard"]
    latency = card["self_heal"]["approval_latency"]
    proposals = card["proposals"]
    budget = card["workers"]["budget"]
    rate = retries["success_rate"]
    mean = stuck["mean_seconds_to_resolution"]
    median = latency["median_seconds"]
    p90 = latency["p90_seconds"]
    na = _("n/a")
    return "\n".join(
        [
            _("%(days)s-day scorecard: %(n)s events")
            % {"days": card["window"]["days"], "n": card["events"]["total"]},
            _(
                "retry success: %(rate)s (%(resolved)s resolved, %(failed)s failed, "
                "%(open)s without outcome)"
            )
            % {
                "rate": f"{rate:.0%}" if rate is not None else na,
                "resolved": retries["resolved"],
                "failed": retries["failed"],
                "open": retries["no_outcome"],
            },
            _("stuck claims: %(n)s (%(expired)s lease expired), mean time to resolution %(mean)s")
            % {
                "n": stuck["detected"],
                "expired": stuck["lease_expired"],
                "mean": duration(mean, na),
            },
            _(
                "artifact checks: %(passed)s passed, %(failed)s failed; "
                "%(blocked)s completion(s) blocked"
            )
            % {
                "passed": guard["checks_passed"],
                "failed": guard["checks_failed"],
                "blocked": guard["completions_blocked"],
            },
            _("approval latency: median %(median)s, p90 %(p90)s over %(n)s decision(s)")
            % {"median": duration(median, na), "p90": duration(p90, na), "n": latency["decided"]},
            _("proposals: %(adopted)s adopted, %(rejected)s rejected, %(open)s open")
            % {
                "adopted": proposals["adopted"],
                "rejected": proposals["rejected"],
                "open": proposals["open"],
            },
            _("fleet budget: %(spent)s of %(budget)s spent this month")
            % {"spent": money(budget["spent_cents"]), "budget": money(budget["budget_cents"])},
        ]
    )


# --- The weekly learning review ---------------------------------------------------------

Kind = LearningMemoryUpdate.Kind
Review = LearningMemoryUpdate.Review


def weekly_learning_review() -> dict[str, Any]:
    """The last 7 days: new lessons and lessons learned again, friction reports (the
    ``policy_friction`` updates and the ``friction`` gate's events), the top error classes,
    proposals decided, and how many lessons wait for review."""
    now = timezone.now()
    since = now - timedelta(days=7)
    period = _("from %(start)s to %(end)s") % {"start": when(since), "end": when(now)}
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

    title = _("Weekly learning review: %(n)s friction report(s)") % {"n": friction_count}
    if new_count or again_count:
        title += _(", %(new)s new lesson(s), %(again)s learned again") % {
            "new": new_count,
            "again": again_count,
        }
    done = [
        period,
        _("top error classes: ") + (", ".join(f"{name} {n}" for name, n in top) or _("none")),
        _line(
            _("new lessons by kind"),
            dict(new.values_list("kind").annotate(n=Count("id"))),
            "lesson_kind",
        ),
        _line(_("proposals decided"), decided, "proposal_status"),
    ]
    sections = [
        _section(
            _("New lessons (%(n)s)") % {"n": new_count},
            (_lesson(u) for u in new.order_by("next_round_priority", "-occurrences", "id")[:shown]),
        ),
        _section(
            _("Learned again (%(n)s)") % {"n": again_count},
            (_lesson(u) for u in again.order_by("-occurrences", "id")[:shown]),
        ),
        _section(
            _("Friction (%(n)s)") % {"n": friction_count},
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
            _(
                "Review %(n)s pending lesson(s) in the console: accepted ones go into the "
                "teams' prompt packs."
            )
            % {"n": pending}
            if pending
            else _("Review friction and adopt or retire repairs in the console.")
        ),
        "link": reverse("admin:learning_learningmemoryupdate_changelist"),
    }


def _lesson(update: LearningMemoryUpdate) -> str:
    scope = update.team or _("fleet")
    return (
        f"- [{scope}] {update.error_class} P{update.next_round_priority}: {update.lesson} "
        f"({update.occurrences}x, {label(update.review, 'review')})"
    )


def _section(heading: str, lines: Iterable[str]) -> str:
    lines = list(lines)
    return f"{heading}:\n" + "\n".join(lines) if lines else ""
