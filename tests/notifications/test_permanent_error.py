"""A provider's permanent refusal fails the report and tells the owner elsewhere."""

import json

import pytest
from werkzeug import Response

from notifications.models import OwnerReport
from tests.notifications.conftest import answer, drain, raise_reports, states


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410])
def test_permanent_error_fails_the_report_and_raises_a_critical_report_on_other_channels(
    db, httpserver, make_channel, status
):
    broken = make_channel("broken", kind="discord")
    other = make_channel("other")
    answer(httpserver, broken, status)
    (report, _) = raise_reports(1)

    result = drain(broken)

    report.refresh_from_db()
    assert result.failed == 1
    assert (report.state, report.attempts) == ("failed", 1)
    assert f"HTTP {status}" in report.last_error
    alert = OwnerReport.objects.get(source="channel.failed")
    assert alert.channel == other
    assert alert.status == "critical"
    assert alert.role == "pls_owner"
    assert "broken" in alert.title
    assert alert.task_id == str(report.pk)
    broken.refresh_from_db()
    assert broken.permanent_error_total == 1
    assert broken.retry_at is None  # a permanent error does not hold the channel's queue


def test_newer_reports_are_not_blocked_by_a_report_the_provider_refuses(
    db, httpserver, make_channel
):
    channel = make_channel("ops", kind="telegram")
    answers = iter([(400, {"ok": False, "description": "Bad Request: message is too long"})])

    def provider(request):
        status, body = next(answers, (200, {"ok": True}))
        return Response(json.dumps(body), status=status)

    httpserver.expect_request(
        f"/telegram/bot{channel.token}/sendMessage", method="POST"
    ).respond_with_handler(provider)
    raise_reports(3)

    result = drain(channel)

    assert (result.failed, result.sent) == (1, 2)
    assert states(channel) == ["failed", "sent", "sent"]
    assert "message is too long" in channel.reports.order_by("pk")[0].last_error


def test_repeated_refusals_alert_the_owner_once_within_the_cooldown(db, httpserver, make_channel):
    broken = make_channel("broken")
    other = make_channel("other")
    answer(httpserver, broken, 410)
    answer(httpserver, other, 200)
    raise_reports(3)

    drain(broken)
    drain(other)

    alerts = OwnerReport.objects.filter(source="channel.failed", channel=other).order_by("pk")
    assert [a.state for a in alerts] == ["sent", "suppressed", "suppressed"]
    assert alerts[0].suppressed_count == 2


def test_a_failing_alert_about_a_channel_does_not_raise_another(db, httpserver, make_channel):
    first = make_channel("first")
    second = make_channel("second")
    answer(httpserver, first, 404)
    answer(httpserver, second, 404)
    raise_reports(1, channel="first")

    drain(first)
    drain(second)
    drain(first)

    assert OwnerReport.objects.filter(source="channel.failed").count() == 1


def test_an_address_that_cannot_be_a_url_is_a_permanent_error(db, make_channel):
    channel = make_channel("typo", kind="telegram", api_base="http://exa mple.invalid:99999")
    (report,) = raise_reports(1, channel="typo")

    result = drain(channel)

    report.refresh_from_db()
    assert result.failed == 1
    assert report.state == "failed"
    assert channel.token not in report.last_error
