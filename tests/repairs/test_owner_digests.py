"""The daily scorecard and weekly learning review the owner receives through the outbox."""

import pytest

from notifications.models import OwnerReport
from notifications.services import digest_enqueue
from tests.factories import event_body

EVENTS = "/api/v1/worker-repair-events"

pytestmark = pytest.mark.django_db


def test_the_daily_scorecard_counts_the_days_events_and_what_waits(worker_client):
    worker_client.post(EVENTS, event_body(action="release", message="lease gone"), format="json")
    worker_client.post(
        EVENTS, event_body(gate="friction", action="report_friction", message="slow"), format="json"
    )

    (report,) = digest_enqueue(name="daily_scorecard")

    assert report.source == "digest.daily_scorecard"
    assert report.title == "Daily scorecard: 2 repair events in 24 h"
    # The codes counted by read as their labels.
    assert "Friction 1" in report.done and "Stuck claim 1" in report.done
    assert "needs approval 1" in report.done
    assert report.progress.startswith("1 self-heal request(s) pending")
    assert "3 open policy question(s)" in report.progress
    assert report.status == "warning"


def test_the_daily_scorecard_is_keyed_by_day_so_a_second_run_is_a_duplicate():
    from django.utils import timezone

    from core.clock import local_date

    digest_enqueue(name="daily_scorecard")
    digest_enqueue(name="daily_scorecard")

    keys = list(OwnerReport.objects.values_list("dedup_key", flat=True))
    assert keys == [f"digest.daily_scorecard:{local_date(timezone.now()):%Y-%m-%d}"] * 2


def test_the_weekly_review_lists_friction_and_top_error_classes(worker_client):
    worker_client.post(
        EVENTS,
        event_body(gate="friction", error_class="approval_wait", message="waited 6 h for release"),
        format="json",
    )

    (report,) = digest_enqueue(name="weekly_learning")

    assert report.title == "Weekly learning review: 1 friction report(s)"
    assert "approval_wait 1" in report.done
    assert "- waited 6 h for release" in report.progress
