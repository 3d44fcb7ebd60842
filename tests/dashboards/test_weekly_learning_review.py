"""The weekly learning review the owner receives through the outbox: the week's new lessons
and lessons learned again, friction reports and the top error classes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboards.digests import weekly_learning_review
from learning.models import LearningMemoryUpdate
from notifications import digests
from notifications.models import OwnerReport
from notifications.services import digest_enqueue
from tests.factories import LearningUpdateFactory, event_body
from tests.learning.conftest import EVENTS, UPDATES, lesson_body

pytestmark = pytest.mark.django_db


def days_ago(n: int):
    return timezone.now() - timedelta(days=n)


@pytest.fixture
def week(worker_client):
    """A week of work: events of three error classes, lessons new and old, friction."""
    for n in range(3):
        worker_client.post(EVENTS, event_body(job=f"JOB-{n}"), format="json")
    worker_client.post(EVENTS, event_body(error_class="test_failed", action=""), format="json")
    worker_client.post(
        EVENTS,
        event_body(
            gate="friction",
            error_class="approval_wait",
            action="report_friction",
            message="waited 6 h for a release approval",
        ),
        format="json",
    )
    worker_client.post(
        UPDATES, lesson_body(lesson="Retry the context fetch once after a pause."), format="json"
    )
    worker_client.post(
        UPDATES,
        lesson_body(
            kind="policy_friction",
            error_class="approval_wait",
            lesson="Release approvals take half a day; ask before the lease runs out.",
        ),
        format="json",
    )
    old = LearningUpdateFactory(
        lesson="Upload the artifact before completing.", error_class="artifact_missing"
    )
    LearningMemoryUpdate.objects.filter(pk=old.pk).update(
        created_at=days_ago(30), last_seen_at=days_ago(1), occurrences=6
    )
    stale = LearningUpdateFactory(lesson="A lesson nobody met this week.")
    LearningMemoryUpdate.objects.filter(pk=stale.pk).update(
        created_at=days_ago(30), last_seen_at=days_ago(20)
    )


def test_the_review_goes_through_the_outbox_with_the_weeks_lessons(week):
    (report,) = digest_enqueue(name=digests.WEEKLY_LEARNING)

    assert report.source == "digest.weekly_learning"
    assert report.title == (
        "Weekly learning review: 2 friction report(s), 1 new lesson(s), 1 learned again"
    )
    assert (
        "New lessons (1):\n- [alpha] context_fetch_failed P2: Retry the context fetch once "
        "after a pause. (1x, Pending)"
    ) in report.progress
    assert (
        "Learned again (1):\n- [alpha] artifact_missing P3: Upload the artifact before "
        "completing. (6x, Pending)"
    ) in report.progress
    assert "A lesson nobody met this week." not in report.progress


def test_the_review_lists_friction_updates_and_friction_events(week):
    report = weekly_learning_review()

    friction = report["progress"].split("Friction (2):\n", 1)[1]
    assert "- approval_wait: Release approvals take half a day" in friction
    assert "- waited 6 h for a release approval" in friction


def test_the_review_ranks_the_top_error_classes(week):
    report = weekly_learning_review()

    period, top, *_rest = report["done"].splitlines()
    assert period.startswith("from ") and period.endswith("(Asia/Taipei)")  # the week, local
    assert top == ("top error classes: context_fetch_failed 3, approval_wait 1, test_failed 1")
    assert "new lessons by kind: Policy friction 1, Repair lesson 1" not in report["done"]
    assert "new lessons by kind: Repair lesson 1" in report["done"]


def test_the_review_asks_for_the_pending_lessons_to_be_reviewed(week):
    report = weekly_learning_review()

    assert report["next_step"].startswith("Review 4 pending lesson(s) in the console")


def test_events_older_than_a_week_are_not_counted(worker_client):
    from repairs.models import RepairEvent

    worker_client.post(EVENTS, event_body(gate="friction", action="report_friction"), format="json")
    RepairEvent.objects.update(occurred_at=days_ago(8))

    report = weekly_learning_review()

    assert report["title"] == "Weekly learning review: 0 friction report(s)"
    assert report["done"].splitlines()[1] == "top error classes: none"


def test_the_learning_app_registers_the_weekly_review():
    assert digests.builder(digests.WEEKLY_LEARNING) is weekly_learning_review


def test_a_week_with_nothing_still_sends_a_short_review():
    (report,) = digest_enqueue(name=digests.WEEKLY_LEARNING)

    assert report.title == "Weekly learning review: 0 friction report(s)"
    assert report.next_step == "Review friction and adopt or retire repairs in the console."
    assert OwnerReport.objects.count() == 1
