"""The reliability scorecard (issue 6 §4): one dictionary, served by
``GET /api/v1/scorecard?days=N``, drawn on the console home and summarised in the daily digest.

The window is ``days`` calendar days on the console's clock (``PLS_TIME_ZONE``) that end
today (``days=1``: today since local midnight), so it lines up with the per-day rollup the
event figures come from; every other figure uses the same start.
"""

import math
from datetime import datetime

from django.utils import timezone

from dashboards import selectors
from learning.models import LearningMemoryUpdate
from repairs.models import Gate, SelfHealRequest, Worker

MAX_DAYS = 90
TOP_ERROR_CLASSES = 10


def percentile(ordered: list[float], pct: float) -> float | None:
    """The nearest-rank percentile of an ascending list: the smallest value with at least
    ``pct`` % of the values at or below it (p50 of 1, 2, 3, 4 is 2; p90 of 1..10 is 9)."""
    if not ordered:
        return None
    rank = max(math.ceil(pct / 100 * len(ordered)), 1)
    return ordered[rank - 1]


def median(ordered: list[float]) -> float | None:
    """The middle value (the mean of the two middle ones for an even count)."""
    if not ordered:
        return None
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def build_scorecard(
    *, days: int, now: datetime | None = None, per_day_days: int | None = None
) -> dict:
    """The scorecard of the last ``days`` days. With ``per_day_days`` the events per day
    cover that many days instead (the home's 30-day sparkline beside a 7-day scorecard) at
    no extra query."""
    now = now or timezone.now()
    window = selectors.window_days(days, now)
    first_day = window[0]
    since = selectors.midnight(first_day)
    spark = selectors.window_days(per_day_days or days, now)
    events = selectors.event_figures(first_day=first_day, per_day_from=spark[0])

    retry = events.outcomes[selectors.RETRY]
    stuck = events.outcomes[selectors.STUCK]
    latencies = selectors.approval_latencies(since=since)
    heal_status = selectors.self_heal_status_counts(since=since)
    checks = selectors.artifact_check_counts(since=since)
    learning = selectors.learning_counts(since=since)
    worker_status = selectors.worker_status_counts()
    verdicts_by_decision, verdicts_by_rule = selectors.tool_verdict_counts(since=since)

    return {
        "window": {"days": days, "since": since, "until": now},
        "events": {
            "total": events.total,
            "by_gate": {gate: events.by_gate.get(gate, 0) for gate in Gate.values},
            "by_error_class": [
                {"error_class": name, "count": count}
                for name, count in sorted(
                    events.by_error_class.items(), key=lambda item: (-item[1], item[0])
                )[:TOP_ERROR_CLASSES]
            ],
            "by_decision": {
                decision: events.by_decision.get(decision, 0)
                for decision in ("allowed", "needs_approval", "denied")
            },
            "per_day": [{"day": day, "count": events.per_day.get(day, 0)} for day in spark],
            "live_tail": events.tail,
            "mark": events.mark,  # for the home's D7 check; the API leaves it out
        },
        "retries": {
            "allowed": events.retries_allowed,
            "resolved": retry.resolved,
            "failed": retry.failed,
            "no_outcome": max(events.retries_allowed - retry.resolved - retry.failed, 0),
            "success_rate": ratio(retry.resolved, retry.resolved + retry.failed),
        },
        "stuck_claims": {
            "detected": events.stuck_claims,
            "lease_expired": events.lease_expired,
            "other": events.stuck_claims - events.lease_expired,
            "resolved": stuck.resolved,
            "mean_seconds_to_resolution": (
                round(stuck.resolve_seconds / stuck.resolved, 1) if stuck.resolved else None
            ),
        },
        "artifact_guard": {
            "checks_passed": checks.get("passed", 0),
            "checks_failed": checks.get("failed", 0) + checks.get("error", 0),
            "checks_by_status": {
                status: checks.get(status, 0) for status in ("passed", "failed", "error")
            }
            | {"in_progress": checks.get("pending", 0) + checks.get("running", 0)},
            "completions_blocked": events.completions_blocked,
        },
        "self_heal": {
            "by_status": {
                status: heal_status.get(status, 0) for status in SelfHealRequest.Status.values
            },
            "approval_latency": {
                "decided": len(latencies),
                "median_seconds": median(latencies),
                "p90_seconds": percentile(latencies, 90),
            },
            "latencies": latencies,  # for the chart; the API leaves it out
        },
        "tool_verdicts": {
            "total": sum(verdicts_by_decision.values()),
            "by_decision": {
                decision: verdicts_by_decision.get(decision, 0)
                for decision in ("allowed", "needs_approval", "denied")
            },
            "by_rule": [
                {"rule": rule, "count": count}
                for rule, count in sorted(verdicts_by_rule.items(), key=lambda i: (-i[1], i[0]))
            ],
        },
        "proposals": selectors.proposal_figures(since=since),
        "learning": {kind: learning.get(kind, 0) for kind in LearningMemoryUpdate.Kind.values},
        "workers": {
            "by_status": {status: worker_status.get(status, 0) for status in Worker.Status.values},
            "budget": selectors.budget_figures(now=now),
        },
    }
