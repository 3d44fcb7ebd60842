"""A channel that cannot take its reports hands them to its fallback: in order, marked on
both rows, none lost and none sent twice. LINE's monthly-limit 429 pauses the channel until
the month ends (in the owner's zone) and hands everything over at once."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.clock import next_month_start
from notifications.drain import outbox_sweep
from notifications.models import Channel, OwnerReport
from tests.notifications.conftest import (
    answer,
    drain,
    provider_path,
    raise_reports,
    received,
    states,
)

MONTHLY_LIMIT = {"message": "You have reached your monthly limit."}

pytestmark = pytest.mark.django_db


@pytest.fixture
def backup(httpserver, make_channel) -> Channel:
    """A fallback that routing alone never picks for an owner's report."""
    channel = make_channel("backup", role="risk_reviewer")
    answer(httpserver, channel)
    return channel


def line_requests(httpserver, channel: Channel) -> int:
    return sum(1 for request, _ in httpserver.log if request.path == provider_path(channel))


def titles(httpserver, channel: Channel) -> list[str]:
    """The test reports' titles the channel received, in arrival order."""
    return [b["title"] for b in received(httpserver, channel) if b["source"] == "test.report"]


def test_line_monthly_limit_hands_every_report_to_the_fallback_in_order_once(
    httpserver, make_channel, backup
):
    line = make_channel("line-ops", kind="line", fallback=backup)
    answer(httpserver, line, 429, json=MONTHLY_LIMIT)
    raise_reports(5)

    result = drain(line)

    line.refresh_from_db()
    assert result.stopped == "paused"
    assert line.paused_until == next_month_start(timezone.now())
    assert line.unready_reason(timezone.now()).startswith("paused until")
    assert states(line) == ["handed_over"] * 5
    drain(backup)
    assert titles(httpserver, backup) == [f"report {n}" for n in range(5)]

    # Raised while the channel is paused: the sweep hands them over at once.
    raise_reports(7)
    assert drain(line).stopped.startswith("paused until")
    outbox_sweep()
    drain(backup, max_count=20)

    assert line_requests(httpserver, line) == 1  # LINE was asked once, not all month
    assert titles(httpserver, backup) == [
        *(f"report {n}" for n in range(5)),
        *(f"report {n}" for n in range(7)),
    ]
    assert OwnerReport.objects.filter(channel=backup, state="sent").count() == 12
    assert not OwnerReport.objects.filter(state="pending").exists()


def test_both_rows_say_where_the_report_went(httpserver, make_channel, backup):
    line = make_channel("line-ops", kind="line", fallback=backup)
    answer(httpserver, line, 429, json=MONTHLY_LIMIT)
    (original,) = raise_reports(1)

    drain(line)

    original.refresh_from_db()
    delivery = OwnerReport.objects.get(channel=backup)
    assert original.handed_to == delivery
    assert delivery.fallback_for == original
    assert original.went_to == f"handed to fallback backup (#{delivery.pk})"
    assert delivery.went_to == f"fallback for line-ops (#{original.pk})"
    assert "monthly message limit" in original.last_error
    assert delivery.created_at == original.created_at


def test_without_a_fallback_a_paused_channel_keeps_its_reports_until_the_month_ends(
    httpserver, make_channel
):
    line = make_channel("line-ops", kind="line")
    answer(httpserver, line, 429, json=MONTHLY_LIMIT)
    raise_reports(3)

    drain(line)
    drain(line)

    assert states(line) == ["pending"] * 3
    assert line_requests(httpserver, line) == 1


def test_an_ordinary_429_is_a_passing_failure(httpserver, make_channel, backup):
    line = make_channel("line-ops", kind="line", fallback=backup)
    answer(httpserver, line, 429, json={"message": "The API rate limit has been exceeded."})
    raise_reports(2)

    assert drain(line).stopped == "error"

    line.refresh_from_db()
    assert line.paused_until is None
    assert states(line) == ["pending", "pending"]


@pytest.mark.parametrize(
    ("now", "month_start"),
    [
        # 00:30 on 1 January in Taipei is still 31 December in UTC.
        (datetime(2026, 12, 31, 16, 30, tzinfo=UTC), datetime(2027, 1, 31, 16, 0, tzinfo=UTC)),
        (datetime(2026, 12, 15, 3, 0, tzinfo=UTC), datetime(2026, 12, 31, 16, 0, tzinfo=UTC)),
    ],
)
def test_the_month_ends_at_midnight_in_the_owners_zone(now, month_start):
    assert next_month_start(now) == month_start


def test_the_month_starts_on_the_console_calendar(settings):
    settings.TIME_ZONE = "UTC"  # PLS_TIME_ZONE

    assert next_month_start(datetime(2026, 12, 31, 16, 30, tzinfo=UTC)) == datetime(
        2027, 1, 1, tzinfo=UTC
    )


def test_a_permanent_refusal_goes_to_the_fallback_and_the_owner_is_told(
    httpserver, make_channel, backup
):
    broken = make_channel("broken", kind="discord", fallback=backup)
    answer(httpserver, broken, 404)
    raise_reports(2)

    result = drain(broken)
    drain(backup)

    assert states(broken) == ["handed_over", "handed_over"]
    assert result.stopped == ""
    assert titles(httpserver, backup)[:2] == ["report 0", "report 1"]
    alert = OwnerReport.objects.filter(source="channel.failed").first()
    assert alert is not None
    assert "went to the fallback backup" in alert.done


def test_retries_exhausted_go_to_the_fallback(httpserver, make_channel, backup, settings):
    settings.PLS_FALLBACK_AFTER_ATTEMPTS = 2
    flaky = make_channel("flaky", kind="slack", fallback=backup)
    answer(httpserver, flaky, 503)
    raise_reports(2)

    drain(flaky)
    Channel.objects.filter(pk=flaky.pk).update(retry_at=None)  # the backoff has passed
    drain(flaky)

    assert states(flaky) == ["handed_over", "pending"]
    drain(backup)
    assert titles(httpserver, backup) == ["report 0"]


def test_reports_held_past_the_fallback_age_on_a_failing_channel_go_to_the_fallback(
    httpserver, make_channel, backup
):
    failing = make_channel(
        "failing", kind="slack", fallback=backup, fallback_after=timedelta(minutes=10)
    )
    reports = raise_reports(3)
    old, young = timezone.now() - timedelta(minutes=11), timezone.now()
    OwnerReport.objects.filter(pk__in=[reports[0].pk, reports[1].pk]).update(created_at=old)
    OwnerReport.objects.filter(pk=reports[2].pk).update(created_at=young)
    Channel.objects.filter(pk=failing.pk).update(
        retry_at=timezone.now() + timedelta(minutes=5), last_error="HTTP 503"
    )

    outbox_sweep()

    assert states(failing) == ["handed_over", "handed_over", "pending"]


def test_a_muted_channel_holds_its_reports_however_old(httpserver, make_channel, backup):
    muted = make_channel(
        "muted",
        kind="slack",
        fallback=backup,
        fallback_after=timedelta(minutes=10),
        muted_until=timezone.now() + timedelta(hours=8),
    )
    raise_reports(2)
    OwnerReport.objects.filter(channel=muted).update(created_at=timezone.now() - timedelta(hours=1))

    outbox_sweep()

    assert states(muted) == ["pending", "pending"]


def test_a_fallback_that_already_has_the_report_sends_it_once(httpserver, make_channel):
    backup = make_channel("backup")  # takes every owner report too
    answer(httpserver, backup)
    broken = make_channel("broken", kind="discord", fallback=backup)
    answer(httpserver, broken, 404)
    raise_reports(2)

    drain(broken)
    drain(backup)

    assert titles(httpserver, backup) == ["report 0", "report 1"]
    twins = OwnerReport.objects.filter(channel=backup, source="test.report").order_by("pk")
    handed = OwnerReport.objects.filter(channel=broken).order_by("pk")
    assert [r.handed_to_id for r in handed] == [t.pk for t in twins]


def test_a_report_never_returns_to_a_channel_it_went_through(httpserver, make_channel):
    first = make_channel("first", kind="discord")
    second = make_channel("second", kind="slack", role="risk_reviewer", fallback=first)
    Channel.objects.filter(pk=first.pk).update(fallback=second)
    first.refresh_from_db()
    answer(httpserver, first, 404)
    answer(httpserver, second, 404)
    raise_reports(1)

    drain(first)
    drain(second)
    drain(first)

    tried = [json.loads(r.get_data()) for r, _ in httpserver.log]
    report = OwnerReport.objects.filter(source="test.report")
    assert [(r.channel.name, r.state) for r in report.order_by("pk")] == [
        ("first", "handed_over"),
        ("second", "failed"),  # not back to first: it stays failed there, replayable
    ]
    assert sum("report 0" in json.dumps(body) for body in tried) == 2


def test_a_channel_cannot_be_its_own_fallback(make_channel):
    channel = make_channel("loop")
    channel.fallback = channel

    with pytest.raises(Exception, match="own fallback"):
        channel.full_clean()


def test_the_outbox_page_shows_where_each_report_went(
    httpserver, make_channel, backup, client, owner
):
    line = make_channel("line-ops", kind="line", fallback=backup)
    answer(httpserver, line, 429, json=MONTHLY_LIMIT)
    (original,) = raise_reports(1)
    drain(line)
    delivery = OwnerReport.objects.get(channel=backup)
    client.force_login(owner)

    page = client.get(reverse("admin:notifications_ownerreport_changelist")).content.decode()

    assert f"handed to fallback backup (#{delivery.pk})" in page
    assert f"fallback for line-ops (#{original.pk})" in page


def test_the_sweep_hands_over_nothing_while_a_drain_holds_the_channel(
    httpserver, make_channel, backup
):
    failing = make_channel(
        "failing", kind="slack", fallback=backup, fallback_after=timedelta(minutes=10)
    )
    raise_reports(2)
    OwnerReport.objects.filter(channel=failing).update(
        created_at=timezone.now() - timedelta(hours=1)
    )
    Channel.objects.filter(pk=failing.pk).update(
        retry_at=timezone.now() + timedelta(minutes=5),
        lease_token="held-by-a-drain",
        lease_expires_at=timezone.now() + timedelta(minutes=1),
    )

    outbox_sweep()

    # The drain may be sending them this moment: handing over now could send one twice.
    assert states(failing) == ["pending", "pending"]
