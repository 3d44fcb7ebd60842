"""The daily scorecard digest, with the scorecard's own figures.

The repairs app builds the digest's head (the day's events by gate and verdict, what waits
for a human); this adds the rolling 7-day scorecard read through the same selectors as
``GET /api/v1/scorecard`` and the console home, so the owner's message and the console
never disagree.
"""

from collections.abc import Callable
from typing import Any

from dashboards.scorecard import build_scorecard

DIGEST_DAYS = 7


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
            f"mean time to resolution {_duration(mean)}",
            f"artifact checks: {guard['checks_passed']} passed, {guard['checks_failed']} failed; "
            f"{guard['completions_blocked']} completion(s) blocked",
            f"approval latency: median {_duration(median)}, p90 {_duration(p90)} "
            f"over {latency['decided']} decision(s)",
            f"proposals: {proposals['adopted']} adopted, {proposals['rejected']} rejected, "
            f"{proposals['open']} open",
        ]
    )


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def with_scorecard(head: Callable[[], dict[str, Any] | None]) -> Callable[[], dict[str, Any]]:
    """The daily digest builder: ``head``'s report with the scorecard appended to ``done``."""

    def build() -> dict[str, Any]:
        report = dict(head() or {"title": "Daily scorecard"})
        lines = scorecard_lines(build_scorecard(days=DIGEST_DAYS))
        report["done"] = f"{report['done']}\n{lines}" if report.get("done") else lines
        return report

    return build
