"""The owner marks an event resolved in the console, saying what it taught; the event stays
read-only otherwise, and nobody else is offered the action."""

import pytest
from django.urls import reverse

from learning.models import LearningMemoryUpdate
from repairs.models import RepairEvent
from tests.console import action_names, run_action, shown_messages
from tests.factories import event_body
from tests.learning.conftest import EVENTS

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:repairs_repairevent_changelist")


@pytest.fixture
def event(worker_client) -> RepairEvent:
    worker_client.post(EVENTS, event_body(), format="json")
    return RepairEvent.objects.get()


def test_only_the_owner_is_offered_mark_resolved(client, owner, reviewer, viewer, event):
    offered = {}
    for person in (owner, reviewer, viewer):
        client.force_login(person)
        offered[person] = "mark_resolved" in action_names(client, CHANGELIST)

    assert offered == {owner: True, reviewer: False, viewer: False}


def test_the_intermediate_page_asks_for_the_lesson_before_resolving(client, owner, event):
    client.force_login(owner)

    page = client.post(
        CHANGELIST, {"action": "mark_resolved", "_selected_action": [event.pk]}
    ).content.decode()

    assert 'name="lesson"' in page and 'name="fix"' in page
    assert "context_fetch_failed" in page
    assert RepairEvent.objects.get(pk=event.pk).outcome == ""


def test_marking_resolved_records_the_outcome_and_the_owners_lesson(client, owner, event):
    client.force_login(owner)

    response = run_action(
        client,
        CHANGELIST,
        "mark_resolved",
        [event],
        lesson="Retry once after the context API's maintenance window.",
        fix="retry",
        next_round_priority="1",
    )

    stored = RepairEvent.objects.get(pk=event.pk)
    assert (stored.outcome, stored.resolved_by) == ("resolved", owner)
    lesson = LearningMemoryUpdate.objects.get()
    assert lesson.lesson == "Retry once after the context API's maintenance window."
    assert lesson.next_round_priority == 1
    assert lesson.kind == "repair_lesson" and lesson.event == stored
    assert any(f"Event #{event.pk} resolved" in m for m in shown_messages(response))


def test_a_blank_lesson_is_derived_from_the_event(client, owner, event):
    client.force_login(owner)

    run_action(client, CHANGELIST, "mark_resolved", [event])

    assert LearningMemoryUpdate.objects.get().lesson.startswith(
        "When context_fetch_failed happens in phase context, retry first"
    )


def test_an_event_with_an_outcome_already_is_reported_not_changed(
    client, owner, event, worker_client
):
    worker_client.post(f"{EVENTS}/{event.pk}/outcome", {"outcome": "failed"}, format="json")
    client.force_login(owner)

    response = run_action(client, CHANGELIST, "mark_resolved", [event])

    assert RepairEvent.objects.get(pk=event.pk).outcome == "failed"
    assert not LearningMemoryUpdate.objects.exists()
    assert any("already has the outcome 'failed'" in m for m in shown_messages(response))


def test_a_reviewer_posting_the_action_anyway_changes_nothing(client, reviewer, event):
    client.force_login(reviewer)

    run_action(client, CHANGELIST, "mark_resolved", [event])

    assert RepairEvent.objects.get(pk=event.pk).outcome == ""
    assert not LearningMemoryUpdate.objects.exists()
