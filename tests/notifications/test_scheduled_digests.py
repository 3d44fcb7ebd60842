"""Beat schedules the digests; the apps that own the figures build them."""

import pytest
from celery.schedules import crontab
from django.conf import settings

from notifications import digests
from notifications.models import OwnerReport
from notifications.tasks import send_digest


@pytest.fixture(autouse=True)
def no_registered_builders(monkeypatch):
    """The real apps register their builders at start; these tests bring their own."""
    monkeypatch.setattr(digests, "_builders", {})


@pytest.fixture
def scorecard_builder():
    calls: list[int] = []

    def build():
        calls.append(1)
        return {
            "title": "Daily scorecard: 42 repairs, 3 escalations",
            "done": "42 repairs closed",
            "next_step": "Review the 3 escalations",
        }

    digests.register(digests.DAILY_SCORECARD, build)
    yield calls
    digests.unregister(digests.DAILY_SCORECARD)


def test_beat_runs_the_daily_scorecard_at_0910_local_and_a_weekly_learning_review():
    schedule = settings.CELERY_BEAT_SCHEDULE
    daily = schedule["notifications-daily-scorecard"]
    weekly = schedule["notifications-weekly-learning-review"]

    assert daily["task"] == weekly["task"] == "notifications.tasks.send_digest"
    assert daily["args"] == ["daily_scorecard"]
    assert daily["schedule"] == crontab(minute=10, hour=9)
    assert settings.CELERY_TIMEZONE == settings.TIME_ZONE == "Asia/Taipei"
    assert weekly["args"] == ["weekly_learning"]
    assert weekly["schedule"] == crontab(minute=20, hour=9, day_of_week="mon")
    assert schedule["notifications-drain-sweep"]["schedule"] == 30.0


def test_the_digest_task_enqueues_what_the_registered_builder_returns(
    db, make_channel, scorecard_builder
):
    channel = make_channel("ops")

    send_digest(digests.DAILY_SCORECARD)

    report = OwnerReport.objects.get()
    assert report.channel == channel
    assert report.source == "digest.daily_scorecard"
    assert report.title == "Daily scorecard: 42 repairs, 3 escalations"
    assert report.next_step == "Review the 3 escalations"
    assert report.dedup_key.startswith("digest.daily_scorecard:")


def test_a_digest_built_twice_in_a_day_reaches_the_owner_once(
    db, httpserver, make_channel, scorecard_builder
):
    from tests.notifications.conftest import answer, drain

    channel = make_channel("ops")
    answer(httpserver, channel)

    send_digest(digests.DAILY_SCORECARD)
    send_digest(digests.DAILY_SCORECARD)  # a second beat, by mistake
    drain(channel)

    assert list(OwnerReport.objects.values_list("state", flat=True)) == ["sent", "suppressed"]


def test_a_digest_without_a_builder_sends_nothing(db, make_channel, caplog):
    make_channel("ops")

    send_digest(digests.WEEKLY_LEARNING)

    assert not OwnerReport.objects.exists()
    assert "no builder registered for digest 'weekly_learning'" in caplog.text


def test_a_builder_with_nothing_to_say_sends_nothing(db, make_channel):
    make_channel("ops")
    digests.register("quiet", lambda: None)
    try:
        send_digest("quiet")
    finally:
        digests.unregister("quiet")

    assert not OwnerReport.objects.exists()
