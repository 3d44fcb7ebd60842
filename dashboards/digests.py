"""The owner's daily scorecard digest, registered with the outbox (``notifications.digests``)
when the app is ready.

The day's events by gate and verdict and what waits for a human, then the rolling 7-day
scorecard read through the same selectors as ``GET /api/v1/scorecard`` and the console home,
so the owner's message and the console never disagree.
"""

from datetime import timedelta
from typing import Any

from django.db.models import Count
from django.utils import timezone
from django.utils.timesince import timesince

from dashboards.scorecard import build_scorecard
from dashboards.templatetags.console import duration
from policies.models import Proposal
from policies.selectors import open_question_count
from repairs.models import RepairEvent, SelfHealRequest

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
    day = _line("by gate", by_gate) + "\n" + _line("verdicts", by_decision)
    return {
        "title": f"Daily scorecard: {sum(by_gate.values())} repair events in 24 h",
        "status": "warning" if waiting else "normal",
        "done": day + "\n" + scorecard_lines(build_scorecard(days=DIGEST_DAYS)),
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


def scorecard_lines(card: dict) -> str:
    retries = card["retries"]
    stuck = card["stuck_claims"]
    guard = card["artifact_guard"]
    latency = card["self_heal"]["approval_latency"]
    proposals = card["proposals"]
    rate = retries["success_rate"]
    mean = stuck["mean_seconds_to_resolution"]
    median = latency["median_seconds"]
    p90 = latency["p90_seconds"]
    return "\n".join(
        [
            f"{card['window']['days']}-day scorecard: {card['events']['total']} events",
            f"retry success: {f'{rate:.0%}' if rate is not None else 'n/a'} "
            f"({retries['resolved']} resolved, {retries['failed']} failed, "
            f"{retries['no_outcome']} without outcome)",
            f"stuck claims: {stuck['detected']} ({stuck['lease_expired']} lease expired), "
            f"mean time to resolution {duration(mean, 'n/a')}",
            f"artifact checks: {guard['checks_passed']} passed, {guard['checks_failed']} failed; "
            f"{guard['completions_blocked']} completion(s) blocked",
            f"approval latency: median {duration(median, 'n/a')}, p90 {duration(p90, 'n/a')} "
            f"over {latency['decided']} decision(s)",
            f"proposals: {proposals['adopted']} adopted, {proposals['rejected']} rejected, "
            f"{proposals['open']} open",
        ]
    )
