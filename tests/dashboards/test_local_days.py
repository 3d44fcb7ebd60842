"""The scorecard's days are the console's calendar days (PLS_TIME_ZONE = Asia/Taipei), with
a frozen clock: "today" begins at local midnight, 16:00 UTC the day before."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import override_settings

from dashboards.models import EventDayCount
from dashboards.scorecard import build_scorecard
from dashboards.selectors import window_days
from dashboards.services import event_rollup_advance

pytestmark = pytest.mark.django_db

# 00:30 on 5 December in Taipei.
NOW = datetime(2026, 12, 4, 16, 30, tzinfo=UTC)


def test_today_on_the_scorecard_begins_at_midnight_in_taipei(fleet):
    fleet.event("friction", "approval_wait", at=datetime(2026, 12, 4, 15, 59, tzinfo=UTC))
    fleet.event("friction", "approval_wait", at=datetime(2026, 12, 4, 16, 1, tzinfo=UTC))

    card = build_scorecard(days=1, now=NOW)

    assert card["events"]["total"] == 1
    assert card["window"]["since"] == datetime(2026, 12, 4, 16, 0, tzinfo=UTC)


def test_the_rollup_files_events_under_their_local_day(fleet):
    fleet.event("friction", "approval_wait", at=datetime(2026, 12, 4, 15, 59, tzinfo=UTC))
    fleet.event("friction", "approval_wait", at=datetime(2026, 12, 4, 16, 1, tzinfo=UTC))

    # The events are received now, whatever they say they occurred at: the run comes after
    # they settle.
    event_rollup_advance(now=fleet.now + timedelta(minutes=5))

    assert dict(EventDayCount.objects.values_list("day", "count")) == {
        date(2026, 12, 4): 1,
        date(2026, 12, 5): 1,
    }
    assert build_scorecard(days=2, now=NOW)["events"]["total"] == 2


def test_the_chart_days_are_local_dates():
    assert window_days(3, NOW) == [date(2026, 12, 3), date(2026, 12, 4), date(2026, 12, 5)]
    with override_settings(TIME_ZONE="UTC"):
        assert window_days(1, NOW) == [date(2026, 12, 4)]
