"""The owner's daily scorecard digest carries the scorecard's own figures, read through the
same selectors as the API and the console home."""

import pytest
from django.test import override_settings

from notifications.services import digest_enqueue
from repairs.models import Worker

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


@override_settings(PLS_CURRENCY="TWD")
def test_the_daily_digest_says_its_period_s_zone_and_money_in_the_channel_s_terms(fleet):
    from notifications.models import Channel

    Channel.objects.create(name="owner-en", kind="email", target="o@example.com", language="en")
    Channel.objects.create(
        name="owner-ny", kind="email", target="n@example.com", time_zone="America/New_York"
    )
    Worker.objects.filter(pk=fleet.worker.pk).update(
        monthly_budget_cents=10_000,
        month_spend_cents=2_550,
        budget_month=fleet.today.replace(day=1),
    )

    reports = {r.channel.name: r for r in digest_enqueue(name="daily_scorecard")}

    in_taipei = reports["owner-en"].done.splitlines()
    in_new_york = reports["owner-ny"].done.splitlines()
    assert in_taipei[0].startswith("from ") and in_taipei[0].endswith("(Asia/Taipei)")
    assert in_new_york[0].endswith("(America/New_York)")
    assert "fleet budget: NT$25.50 of NT$100.00 spent this month" in in_taipei
