"""Which channels a report reaches, and what happens when none wants it."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.models import OwnerReport
from notifications.services import report_enqueue


def routed_to(reports: list[OwnerReport]) -> list[str]:
    return sorted(r.channel.name if r.channel else "(unrouted)" for r in reports)


def test_reports_fan_out_to_every_matching_channel(db, make_channel):
    make_channel("owner-all", role="pls_owner")
    make_channel("catch-all")
    make_channel("reviewers", role="risk_reviewer")
    make_channel("alpha", team="alpha")
    make_channel("beta", team="beta")
    make_channel("critical-only", min_status="critical")
    make_channel("off", enabled=False)

    owner_report = report_enqueue(source="worker.paused", title="w1 paused", team="alpha")
    review = report_enqueue(
        source="self_heal.pending", title="approve?", role="risk_reviewer", status="critical"
    )

    assert routed_to(owner_report) == ["alpha", "catch-all", "owner-all"]
    assert routed_to(review) == ["catch-all", "critical-only", "reviewers"]


def test_warning_reaches_warning_channels_but_not_critical_only_ones(db, make_channel):
    make_channel("warn", min_status="warning")
    make_channel("crit", min_status="critical")

    assert routed_to(report_enqueue(source="budget.80", title="80%", status="warning")) == ["warn"]
    assert routed_to(report_enqueue(source="budget.100", title="100%", status="normal")) == [
        "(unrouted)"
    ]


def test_a_report_no_channel_wants_is_kept_unrouted_and_routed_once_a_channel_exists(
    db, make_channel, client, owner
):
    (report,) = report_enqueue(source="stuck_claim", title="JOB-3 stuck", team="gamma")
    assert (report.state, report.channel) == ("unrouted", None)

    client.force_login(owner)
    client.post(
        reverse("admin:notifications_channel_add"),
        {
            "name": "gamma-hook",
            "kind": "webhook",
            "enabled": "on",
            "team": "gamma",
            "min_status": "normal",
            "url": "http://127.0.0.1:9/hook",
            "signing_secret": "k",
        },
    )

    report.refresh_from_db()
    assert report.state == "pending"
    assert report.channel.name == "gamma-hook"


def test_unrouted_reports_keep_their_place_and_are_copied_to_every_new_match(db, make_channel):
    from notifications.services import report_route_unrouted

    (report,) = report_enqueue(source="stuck_claim", title="JOB-3 stuck")
    make_channel("one")
    make_channel("two")
    later = report_enqueue(source="worker.error", title="later")

    assert report_route_unrouted() == 1

    rows = OwnerReport.objects.filter(title="JOB-3 stuck").order_by("pk")
    assert [(r.channel.name, r.state) for r in rows] == [("one", "pending"), ("two", "pending")]
    assert rows[0].pk == report.pk < later[0].pk  # sent before anything raised after it
    assert rows[1].created_at == report.created_at


def test_a_channel_override_sends_only_there_even_against_its_filters(db, make_channel):
    make_channel("ops")
    make_channel("pager", min_status="critical", role="risk_reviewer")

    reports = report_enqueue(source="channel.test", title="hello", channel="pager")

    assert routed_to(reports) == ["pager"]


def test_an_unknown_channel_override_is_routed_normally_not_lost(db, make_channel, caplog):
    make_channel("ops")

    reports = report_enqueue(source="channel.test", title="hello", channel="nope")

    assert routed_to(reports) == ["ops"]
    assert "unknown channel 'nope'" in caplog.text


def test_a_muted_channel_still_receives_its_reports_to_hold(db, make_channel):
    make_channel("ops", muted_until=timezone.now() + timedelta(hours=1))

    assert routed_to(report_enqueue(source="worker.error", title="x")) == ["ops"]


def test_an_unknown_status_is_a_programming_error(db):
    with pytest.raises(ValueError, match="status must be one of"):
        report_enqueue(source="x", title="y", status="urgent")


def test_long_fields_are_cut_to_their_columns(db, make_channel):
    make_channel("ops")

    (report,) = report_enqueue(source="s" * 100, title="t" * 1000, task_id="j" * 500)

    report.refresh_from_db()
    assert (len(report.source), len(report.title), len(report.task_id)) == (64, 300, 200)


def test_reports_that_still_match_nothing_stay_unrouted_through_sweeps(db, make_channel):
    from notifications.services import report_route_unrouted

    make_channel("critical-only", min_status="critical")
    reports = [report_enqueue(source="x", title=f"normal {i}")[0] for i in range(3)]
    critical = report_enqueue(source="y", title="critical", status="critical")

    assert report_route_unrouted() == 0
    assert routed_to(critical) == ["critical-only"]
    assert {r.state for r in OwnerReport.objects.filter(pk__in=[r.pk for r in reports])} == {
        "unrouted"
    }
