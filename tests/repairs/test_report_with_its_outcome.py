"""A report that carries its outcome is one transaction: the event, its outcome and the lesson
it teaches are stored together or not at all."""

import pytest
from django.db import IntegrityError

from learning.models import LearningMemoryUpdate
from repairs.models import RepairEvent
from repairs.services import ReportedOutcome, repair_event_report

pytestmark = pytest.mark.django_db


def report(worker, outcome: ReportedOutcome):
    return repair_event_report(
        worker=worker,
        gate="stuck_claim",
        error_class="context_fetch_failed",
        job_ref="JOB-1",
        action="retry",
        message="fetch of job 1234 failed with 503",
        outcome=outcome,
    )


def test_a_resolved_report_is_stored_resolved_by_its_worker_with_its_lesson(worker):
    reported = report(worker, ReportedOutcome("resolved", lesson="Retry the fetch once."))

    event = RepairEvent.objects.get(pk=reported.event.pk)
    assert (event.outcome, event.resolved_by_id) == ("resolved", worker.user_id)
    assert event.resolved_at is not None
    lesson = LearningMemoryUpdate.objects.get(event=event)
    assert (lesson.lesson, lesson.worker_id, lesson.team) == (
        "Retry the fetch once.",
        worker.pk,
        worker.team,
    )


def test_a_failed_report_is_stored_failed_without_a_lesson(worker):
    reported = report(worker, ReportedOutcome("failed"))

    assert RepairEvent.objects.get(pk=reported.event.pk).outcome == "failed"
    assert not LearningMemoryUpdate.objects.exists()


def test_when_its_lesson_cannot_be_stored_the_event_is_not_stored_either(worker):
    # A priority outside 1-5 breaks the lesson's check constraint (the API refuses it first).
    with pytest.raises(IntegrityError):
        report(worker, ReportedOutcome("resolved", next_round_priority=9))

    assert not RepairEvent.objects.exists()
    assert not LearningMemoryUpdate.objects.exists()
