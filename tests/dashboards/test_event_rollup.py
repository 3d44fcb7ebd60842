"""The per-day rollup the console reads: every event counted exactly once, whether it is in
the rollup or in the live tail past its mark."""

import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection

from dashboards import tasks
from dashboards.models import EventDayCount, OutcomeDayCount, RollupMark
from dashboards.scorecard import build_scorecard
from dashboards.selectors import event_figures
from dashboards.services import event_rollup_advance, event_rollup_rebuild
from repairs.models import RepairEvent

pytestmark = pytest.mark.django_db

LATER = timedelta(minutes=5)  # past the settle time of every event written in the test


def rows() -> set[tuple]:
    return set(
        EventDayCount.objects.values_list(
            "day", "gate", "error_class", "action", "decision", "count"
        )
    )


def test_each_event_is_counted_once_however_often_the_rollup_runs(fleet):
    for _ in range(3):
        fleet.event("stuck_claim", "lease_expired")
    first = event_rollup_advance(now=fleet.now + LATER)
    fleet.event("stuck_claim", "lease_expired")
    second = event_rollup_advance(now=fleet.now + LATER)
    third = event_rollup_advance(now=fleet.now + LATER)

    assert (first.events, second.events, third.events) == (3, 1, 0)
    assert EventDayCount.objects.get().count == 4
    assert event_figures(first_day=fleet.today).total == 4


def test_young_events_stay_in_the_live_tail_until_they_settle(fleet, settings):
    settings.PLS_ROLLUP_SETTLE_SECONDS = 30
    fleet.event("friction", "approval_wait")

    run = event_rollup_advance(now=fleet.now)

    assert run.events == 0
    figures = event_figures(first_day=fleet.today)
    assert (figures.total, figures.tail) == (1, 1)


def test_a_backlog_is_caught_up_in_batches(fleet, settings):
    settings.PLS_ROLLUP_BATCH = 2
    for _ in range(5):
        fleet.event("stuck_claim", "lease_expired")

    runs = [event_rollup_advance(now=fleet.now + LATER).events for _ in range(4)]

    assert runs == [2, 2, 1, 0]
    assert EventDayCount.objects.get().count == 5


def test_an_event_lands_on_the_day_it_occurred_not_the_day_it_arrived(fleet):
    fleet.event("stuck_claim", "lease_expired", at=fleet.ago(days=3))
    event_rollup_advance(now=fleet.now + LATER)

    (day,) = EventDayCount.objects.values_list("day", flat=True)

    assert day == fleet.today - timedelta(days=3)
    assert build_scorecard(days=3, now=fleet.now)["events"]["total"] == 0
    assert build_scorecard(days=4, now=fleet.now)["events"]["total"] == 1


def test_an_outcome_reported_later_counts_from_the_next_run(fleet):
    event = fleet.event("stuck_claim", "context_fetch_failed", action="retry", decision="allowed")
    event_rollup_advance(now=fleet.now + LATER)
    assert build_scorecard(days=1, now=fleet.now)["retries"]["no_outcome"] == 1

    RepairEvent.objects.filter(pk=event.pk).update(
        outcome="resolved", resolved_at=event.occurred_at + timedelta(seconds=90)
    )
    stale = build_scorecard(days=1, now=fleet.now)
    event_rollup_advance(now=fleet.now + LATER)
    fresh = build_scorecard(days=1, now=fleet.now)

    assert stale["retries"]["resolved"] == 0
    assert fresh["retries"] == {
        "allowed": 1,
        "resolved": 1,
        "failed": 0,
        "no_outcome": 0,
        "success_rate": 1.0,
    }
    assert fresh["stuck_claims"]["mean_seconds_to_resolution"] == 90.0


def test_the_live_tail_counts_outcomes_too(fleet):
    fleet.event(
        "stuck_claim",
        "lease_expired",
        outcome="resolved",
        resolved_after=120,
    )

    card = build_scorecard(days=1, now=fleet.now)

    assert card["stuck_claims"]["resolved"] == 1
    assert card["stuck_claims"]["mean_seconds_to_resolution"] == 120.0
    assert OutcomeDayCount.objects.count() == 0


def test_the_rebuild_recounts_what_the_runs_added_and_drops_old_days(fleet):
    fleet.event("stuck_claim", "lease_expired", at=fleet.ago(days=120))
    for days in (0, 1, 1, 40):
        fleet.event("artifact_guard", "completion_blocked", at=fleet.ago(days=days))
    event_rollup_advance(now=fleet.now + LATER)
    incremental = rows()

    event_rollup_rebuild(now=fleet.now)

    assert rows() == {row for row in incremental if row[0] >= fleet.today - timedelta(days=89)}
    assert len(rows()) == len(incremental) - 1
    assert RollupMark.objects.get().event_id == RepairEvent.objects.order_by("pk").last().pk


def test_the_rebuild_corrects_a_count_that_went_wrong(fleet):
    fleet.event("stuck_claim", "lease_expired")
    event_rollup_advance(now=fleet.now + LATER)
    EventDayCount.objects.update(count=99)  # as if a late commit had been missed or doubled

    event_rollup_rebuild(now=fleet.now)

    assert EventDayCount.objects.get().count == 1


def test_beat_runs_the_rollup_every_minute_and_the_rebuild_hourly(fleet):
    schedule = settings.CELERY_BEAT_SCHEDULE
    fleet.event("stuck_claim", "lease_expired")
    RepairEvent.objects.update(received_at=fleet.ago(minutes=10))

    assert schedule["dashboards-event-rollup"]["task"] == tasks.event_rollup.name
    assert schedule["dashboards-event-rollup"]["schedule"] == 60.0
    assert schedule["dashboards-event-rollup-rebuild"]["task"] == tasks.event_rollup_rebuild.name
    assert tasks.event_rollup() == 1
    assert tasks.event_rollup_rebuild() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_runs_at_once_count_each_event_once(fleet):
    for _ in range(200):
        fleet.event("stuck_claim", "lease_expired")
    barrier = threading.Barrier(4)
    results: list[int] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(event_rollup_advance(now=fleet.now + LATER).events)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [0, 0, 0, 200]
    assert EventDayCount.objects.get().count == 200


def test_an_outcome_on_an_old_event_counts_from_the_hourly_rebuild(fleet, settings):
    settings.PLS_ROLLUP_OUTCOME_DAYS = 3
    event = fleet.event("stuck_claim", "lease_expired", at=fleet.ago(days=10))
    event_rollup_advance(now=fleet.now + LATER)
    RepairEvent.objects.filter(pk=event.pk).update(
        outcome="resolved", resolved_at=event.occurred_at + timedelta(minutes=30)
    )

    event_rollup_advance(now=fleet.now + LATER)
    minute = build_scorecard(days=30, now=fleet.now)["stuck_claims"]["resolved"]
    event_rollup_rebuild(now=fleet.now)
    hour = build_scorecard(days=30, now=fleet.now)["stuck_claims"]

    assert minute == 0
    assert (hour["resolved"], hour["mean_seconds_to_resolution"]) == (1, 1800.0)
