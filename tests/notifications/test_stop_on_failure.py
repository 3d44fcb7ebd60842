"""A failed send stops that channel's run; the other channels go on."""

from django.core.management import call_command
from django.utils import timezone

from tests.notifications.conftest import answer, raise_reports, received_ids, states


def test_failing_channel_keeps_the_report_and_all_newer_ones_while_another_drains(
    db, httpserver, make_channel, capsys
):
    broken = make_channel("a-broken")
    healthy = make_channel("b-healthy")
    answer(httpserver, broken, 503)
    answer(httpserver, healthy, 200)
    reports = raise_reports(3)

    call_command("drain_reports")

    assert states(broken) == ["pending", "pending", "pending"]
    assert received_ids(httpserver, broken) == [reports[0].pk]  # tried once, then stopped
    first = broken.reports.order_by("pk").first()
    assert first.attempts == 1
    assert "HTTP 503" in first.last_error
    assert states(healthy) == ["sent", "sent", "sent"]
    assert len(received_ids(httpserver, healthy)) == 3
    out = capsys.readouterr().out
    assert "a-broken: sent 0, suppressed 0, failed 0 (stopped: error)" in out
    assert "b-healthy: sent 3" in out


def test_failing_channel_backs_off_exponentially_and_is_skipped_meanwhile(
    db, httpserver, make_channel, settings
):
    settings.PLS_NOTIFY_BACKOFF_BASE_SECONDS = 10
    broken = make_channel("broken")
    answer(httpserver, broken, 500)
    raise_reports(2)

    call_command("drain_reports", channel="broken")
    broken.refresh_from_db()
    first_wait = (broken.retry_at - timezone.now()).total_seconds()
    call_command("drain_reports", channel="broken")  # inside the backoff: not tried

    assert broken.failure_streak == 1
    assert 8 < first_wait <= 10
    assert len(received_ids(httpserver, broken)) == 1

    broken.retry_at = timezone.now()
    broken.save(update_fields=["retry_at"])
    call_command("drain_reports", channel="broken")
    broken.refresh_from_db()

    assert broken.failure_streak == 2
    assert 18 < (broken.retry_at - timezone.now()).total_seconds() <= 20
    assert states(broken) == ["pending", "pending"]
