"""The owner's daily scorecard digest carries the scorecard's own figures, read through the
same selectors as the API and the console home."""

import pytest

from notifications.services import digest_enqueue

pytestmark = pytest.mark.django_db


def test_the_daily_digest_adds_the_seven_day_scorecard(fleet):
    fleet.event(
        "stuck_claim",
        "context_fetch_failed",
        action="retry",
        decision="allowed",
        outcome="resolved",
        resolved_after=240,
    )
    fleet.event(
        "stuck_claim", "lease_expired", action="retry", decision="allowed", outcome="failed"
    )
    fleet.request(status="approved", latency=600)
    fleet.check("passed")

    (report,) = digest_enqueue(name="daily_scorecard")

    assert report.source == "digest.daily_scorecard"
    assert report.title.startswith("Daily scorecard: ")  # the repairs app's head is kept
    lines = report.done.splitlines()
    assert "7-day scorecard: 3 events" in lines
    assert "retry success: 50% (1 resolved, 1 failed, 0 without outcome)" in lines
    assert "stuck claims: 3 (2 lease expired), mean time to resolution 4 min" in lines
    assert "artifact checks: 1 passed, 0 failed; 0 completion(s) blocked" in lines
    assert "approval latency: median 10 min, p90 10 min over 1 decision(s)" in lines
