"""A report is archived only when the provider accepted it."""

import time

import pytest
from werkzeug import Response

from notifications.models import OwnerReport
from tests.notifications.conftest import answer, answer_with, drain, raise_reports


def slow(seconds: float, *, status: int):
    """A provider that takes ``seconds`` to answer."""

    def answer(request) -> Response:
        time.sleep(seconds)
        return Response(status=status)

    return answer


@pytest.mark.parametrize("status", [500, 502, 503, 408])
def test_server_errors_leave_the_report_pending(db, httpserver, make_channel, status):
    channel = make_channel("ops")
    answer(httpserver, channel, status)
    (report,) = raise_reports(1)

    result = drain(channel)

    report.refresh_from_db()
    assert (result.sent, result.stopped) == (0, "error")
    assert (report.state, report.sent_at, report.attempts) == ("pending", None, 1)
    assert f"HTTP {status}" in report.last_error


def test_a_slow_answer_past_the_read_timeout_leaves_the_report_pending(
    db, httpserver, make_channel, settings
):
    settings.PLS_HTTP_READ_TIMEOUT = 0.3
    channel = make_channel("ops")
    answer_with(httpserver, channel, slow(0.8, status=200))
    (report,) = raise_reports(1)

    result = drain(channel)

    report.refresh_from_db()
    assert result.stopped == "error"
    assert report.state == "pending"
    assert "timed out" in report.last_error


def test_a_slow_answer_within_the_timeout_is_a_success(db, httpserver, make_channel, settings):
    settings.PLS_HTTP_READ_TIMEOUT = 2
    channel = make_channel("ops")
    answer_with(httpserver, channel, slow(0.3, status=202))
    (report,) = raise_reports(1)

    drain(channel)

    report.refresh_from_db()
    assert report.state == "sent"
    assert report.sent_at is not None


def test_an_unreachable_provider_leaves_the_report_pending(db, make_channel):
    channel = make_channel("ops", url="http://127.0.0.1:9/nothing-listens-here")
    (report,) = raise_reports(1)

    result = drain(channel)

    report.refresh_from_db()
    assert result.stopped == "error"
    assert report.state == "pending"
    assert "ConnectionError" in report.last_error


def test_only_the_accepted_reports_are_archived(db, httpserver, make_channel):
    channel = make_channel("ops")
    answers = iter([200, 200, 503])
    answer_with(httpserver, channel, lambda request: Response(status=next(answers)))
    reports = raise_reports(4)

    drain(channel)

    got = dict(OwnerReport.objects.values_list("pk", "state"))
    assert [got[r.pk] for r in reports] == ["sent", "sent", "pending", "pending"]
