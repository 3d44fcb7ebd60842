"""The console's clock as configured: its zone, and when beat sends the digests."""

import copy
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from django.conf import settings

from config.celery import app
from core.clock import ClockSettingInvalid, hour_minute, weekday_hour_minute, zone_checked


def _due(entry: str, last_run: datetime, now: datetime) -> bool:
    """Whether beat would run ``entry`` at ``now`` (a frozen clock) after ``last_run``."""
    frozen = copy.copy(settings.CELERY_BEAT_SCHEDULE[entry]["schedule"])
    frozen.nowfun = lambda: now
    frozen.app = app  # beat's app, whose clock is the console's zone
    return frozen.is_due(last_run).is_due


def test_the_console_zone_defaults_to_taipei_and_times_are_stored_in_utc():
    assert settings.TIME_ZONE == "Asia/Taipei"
    assert settings.USE_TZ is True
    assert app.conf.timezone == "Asia/Taipei"


def test_the_daily_digest_is_sent_at_0910_taipei_which_is_0110_utc():
    yesterday = datetime(2026, 12, 3, 1, 10, tzinfo=UTC)
    assert not _due(
        "notifications-daily-scorecard", yesterday, datetime(2026, 12, 4, 1, 9, 59, tzinfo=UTC)
    )
    assert _due(
        "notifications-daily-scorecard", yesterday, datetime(2026, 12, 4, 1, 10, tzinfo=UTC)
    )
    # 09:10 UTC, when it used to go out, is 17:10 in Taipei: long after today's digest.
    sent_today = datetime(2026, 12, 4, 1, 10, tzinfo=UTC)
    assert not _due(
        "notifications-daily-scorecard", sent_today, datetime(2026, 12, 4, 9, 10, tzinfo=UTC)
    )


def test_the_weekly_review_is_sent_on_monday_morning_taipei_which_is_sunday_night_utc():
    last_week = datetime(2026, 11, 30, 1, 20, tzinfo=UTC)  # Monday 09:20 in Taipei
    sunday_night_utc = datetime(2026, 12, 7, 1, 20, tzinfo=UTC)  # Monday 09:20 in Taipei
    assert _due("notifications-weekly-learning-review", last_week, sunday_night_utc)
    assert not _due(
        "notifications-weekly-learning-review", last_week, datetime(2026, 12, 6, 9, 20, tzinfo=UTC)
    )


def test_clock_settings_are_read_or_refused_with_the_variable_named():
    assert hour_minute("9:05", variable="PLS_DAILY_DIGEST_AT") == (9, 5)
    assert weekday_hour_minute("Friday 17:30", variable="PLS_WEEKLY_REVIEW_AT") == ("fri", 17, 30)
    with pytest.raises(ClockSettingInvalid, match="PLS_DAILY_DIGEST_AT='25:00'"):
        hour_minute("25:00", variable="PLS_DAILY_DIGEST_AT")
    with pytest.raises(ClockSettingInvalid, match="weekday"):
        weekday_hour_minute("09:20", variable="PLS_WEEKLY_REVIEW_AT")
    with pytest.raises(ClockSettingInvalid, match="IANA"):
        zone_checked("Asia/Taipe")


def test_a_wrong_zone_stops_the_console_at_start_up_with_a_clear_error():
    started = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={
            **os.environ,
            "PLS_TIME_ZONE": "Taipei",
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode != 0
    assert "ImproperlyConfigured: PLS_TIME_ZONE='Taipei' is not a time zone" in started.stderr


def test_a_weekday_is_a_weekday_s_name_not_a_word_that_starts_like_one():
    assert weekday_hour_minute("sunday 08:00", variable="PLS_WEEKLY_REVIEW_AT") == ("sun", 8, 0)
    with pytest.raises(ClockSettingInvalid):
        weekday_hour_minute("monkey 09:20", variable="PLS_WEEKLY_REVIEW_AT")
