"""Reports of one source and error class raised within group_wait go out as one message with
a count and the first few (after Alertmanager's group_by / group_wait); order and
exactly-once delivery hold, and the outbox keeps one row per report."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import OwnerReport
from notifications.services import report_enqueue
from repairs.services import job_stuck_claims_detect
from tests.factories import JobFactory, WorkerFactory, policy_set
from tests.notifications.conftest import answer, drain, received, states

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_repair_proposals(db):
    """Only the stuck-claim reports themselves: repeats raise no proposal report here."""
    policy_set(auto_proposal_threshold=0)


def stuck(count: int, *, spread: timedelta, ago: timedelta) -> list[OwnerReport]:
    """``count`` stuck-claim reports from the real watchdog, raised over ``spread`` that
    ended ``ago``."""
    worker = WorkerFactory()
    now = timezone.now()
    jobs = [JobFactory(claimed_by=worker, status="claimed") for _ in range(count)]
    type(jobs[0]).objects.filter(pk__in=[j.pk for j in jobs]).update(
        lease_expires_at=now - timedelta(minutes=1)
    )
    assert job_stuck_claims_detect(now=now) == count
    reports = list(OwnerReport.objects.filter(source="job.stuck").order_by("pk"))
    start = now - ago - spread
    for index, report in enumerate(reports):
        report.created_at = start + spread * index / max(count - 1, 1)
        report.save(update_fields=["created_at"])
    return reports


def test_two_hundred_stuck_claims_in_ten_seconds_become_one_message_counting_200(
    httpserver, make_channel
):
    channel = make_channel("ops")
    answer(httpserver, channel)
    reports = stuck(200, spread=timedelta(seconds=10), ago=timedelta(seconds=40))

    result = drain(channel)

    assert result.sent == 1
    (message,) = received(httpserver, channel)
    assert message["group"]["count"] == 200
    assert message["group"]["report_ids"] == [r.pk for r in reports]
    assert message["title"].startswith("200 reports of job.stuck (lease_expired)")
    assert "… and 195 more" in message["text"]
    assert message["text"].count("\n• ") == 5
    # One row per report, each delivered in the group of the first.
    assert states(channel) == ["sent"] * 200
    first = reports[0].pk
    rows = OwnerReport.objects.filter(channel=channel)
    assert set(rows.values_list("grouped_into", flat=True)) == {first}
    assert OwnerReport.objects.get(pk=first).group_size == 200
    assert OwnerReport.objects.get(pk=reports[-1].pk).went_to == (
        f"delivered in group {first}, 200 reports"
    )
    # Once: another run sends nothing.
    assert drain(channel).sent == 0
    assert len(received(httpserver, channel)) == 1


def test_an_open_group_holds_the_channel_and_nothing_newer_overtakes_it(httpserver, make_channel):
    channel = make_channel("ops")
    answer(httpserver, channel)
    stuck(3, spread=timedelta(seconds=2), ago=timedelta(seconds=1))
    report_enqueue(source="test.report", title="raised after the stuck claims")

    result = drain(channel)

    assert result.sent == 0
    assert result.stopped.startswith("grouping until")
    assert received(httpserver, channel) == []
    assert states(channel) == ["pending"] * 4


def test_a_group_goes_at_its_first_reports_place_and_the_rest_follow_in_order(
    httpserver, make_channel
):
    channel = make_channel("ops")
    answer(httpserver, channel)
    report_enqueue(source="test.report", title="before")
    stuck(4, spread=timedelta(seconds=5), ago=timedelta(seconds=60))
    report_enqueue(source="test.report", title="after")
    late = report_enqueue(
        source="job.stuck", title="a stuck claim after the window", error_class="lease_expired"
    )

    drain(channel)

    titles = [body["title"] for body in received(httpserver, channel)]
    assert titles[0] == "before"
    assert titles[1].startswith("4 reports of job.stuck")
    assert titles[2] == "after"
    assert len(titles) == 3  # the late one opened a group of its own, still open
    assert OwnerReport.objects.get(pk=late[0].pk).state == "pending"


def test_a_failed_group_is_tried_again_whole_and_delivered_once(httpserver, make_channel):
    channel = make_channel("ops")
    httpserver.expect_oneshot_request(f"/webhook/{channel.name}", method="POST").respond_with_data(
        "down", status=503
    )
    stuck(50, spread=timedelta(seconds=3), ago=timedelta(seconds=40))

    assert drain(channel).stopped == "error"
    assert states(channel) == ["pending"] * 50

    answer(httpserver, channel)
    channel.refresh_from_db()
    type(channel).objects.filter(pk=channel.pk).update(retry_at=None)
    drain(channel)

    bodies = received(httpserver, channel)
    assert [b["group"]["count"] for b in bodies] == [50, 50]  # the refused try, then the one
    assert states(channel) == ["sent"] * 50


def test_grouping_off_sends_each_report(httpserver, make_channel, settings):
    settings.PLS_NOTIFY_GROUP_WAIT_SECONDS = 0
    channel = make_channel("ops")
    answer(httpserver, channel)
    stuck(3, spread=timedelta(seconds=1), ago=timedelta(seconds=0))

    assert drain(channel).sent == 3


def test_a_dry_run_shows_the_grouped_message_and_sends_nothing(httpserver, make_channel):
    channel = make_channel("ops")
    stuck(7, spread=timedelta(seconds=2), ago=timedelta(seconds=40))

    result = drain(channel, dry_run=True)

    assert result.sent == 1
    assert result.preview[0].startswith("[WARNING] 7 reports of job.stuck (lease_expired)")
    assert states(channel) == ["pending"] * 7
    assert httpserver.log == []
