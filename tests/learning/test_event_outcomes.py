"""A worker reports whether a repair worked, at ingest or later, once; a resolved repair
leaves a repair_lesson in its team's learning memory by itself."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from learning.models import LearningMemoryUpdate
from repairs.models import RepairEvent
from tests.factories import event_body
from tests.learning.conftest import EVENTS

pytestmark = pytest.mark.django_db


def outcome_url(event_id: int) -> str:
    return f"{EVENTS}/{event_id}/outcome"


def test_reporting_resolved_later_records_a_repair_lesson_derived_from_the_event(
    worker, worker_client
):
    event = worker_client.post(EVENTS, event_body(), format="json").json()

    response = worker_client.post(outcome_url(event["id"]), {"outcome": "resolved"}, format="json")

    assert response.status_code == 200
    assert response.json()["outcome"] == "resolved"
    assert response.json()["resolved_at"] is not None
    lesson = LearningMemoryUpdate.objects.get()
    assert lesson.kind == "repair_lesson"
    assert lesson.team == worker.team
    assert lesson.worker == worker
    assert lesson.event_id == event["id"]
    assert lesson.error_class == "context_fetch_failed"
    assert lesson.lesson == (
        "When context_fetch_failed happens in phase context, retry first: retry resolved it before."
    )
    assert lesson.fix == "retry (gate stuck_claim)"
    assert lesson.next_round_priority == 3
    assert lesson.review == "pending"
    stored = RepairEvent.objects.get(pk=event["id"])
    assert stored.resolved_by == worker.user


def test_the_lesson_and_fix_given_with_the_outcome_are_the_ones_recorded(worker_client):
    event = worker_client.post(EVENTS, event_body(), format="json").json()

    worker_client.post(
        outcome_url(event["id"]),
        {
            "outcome": "resolved",
            "lesson": "Wait for the context API's 503 to clear, then fetch once more.",
            "fix": "sleep 60; pls fetch-context",
            "next_round_priority": 1,
        },
        format="json",
    )

    lesson = LearningMemoryUpdate.objects.get()
    assert lesson.lesson == "Wait for the context API's 503 to clear, then fetch once more."
    assert lesson.fix == "sleep 60; pls fetch-context"
    assert lesson.next_round_priority == 1


def test_the_default_priority_of_a_derived_lesson_comes_from_the_settings(worker_client, settings):
    settings.PLS_LEARNING_DEFAULT_PRIORITY = 2
    event = worker_client.post(EVENTS, event_body(), format="json").json()

    worker_client.post(outcome_url(event["id"]), {"outcome": "resolved"}, format="json")

    assert LearningMemoryUpdate.objects.get().next_round_priority == 2


def test_resolving_the_same_kind_of_event_again_counts_the_same_lesson(worker_client):
    for job in ("JOB-1", "JOB-2", "JOB-3"):
        event = worker_client.post(EVENTS, event_body(job=job), format="json").json()
        worker_client.post(outcome_url(event["id"]), {"outcome": "resolved"}, format="json")

    lesson = LearningMemoryUpdate.objects.get()
    assert lesson.occurrences == 3


def test_an_outcome_reported_at_ingest_records_the_lesson_at_once(worker_client):
    response = worker_client.post(
        EVENTS,
        event_body(outcome="resolved", lesson="Retry the context fetch once; it recovers."),
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["outcome"] == "resolved"
    lesson = LearningMemoryUpdate.objects.get()
    assert lesson.event_id == response.json()["id"]
    assert lesson.lesson == "Retry the context fetch once; it recovers."


def test_a_replayed_ingest_with_an_outcome_records_its_lesson_once(worker_client):
    body = event_body(outcome="resolved")
    headers = {"HTTP_IDEMPOTENCY_KEY": "retry-of-one-report"}

    first = worker_client.post(EVENTS, body, format="json", **headers)
    replay = worker_client.post(EVENTS, body, format="json", **headers)

    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == first.json()["id"]
    assert LearningMemoryUpdate.objects.get().occurrences == 1


def test_a_failed_outcome_records_no_lesson(worker_client):
    event = worker_client.post(EVENTS, event_body(outcome="failed"), format="json").json()

    assert event["outcome"] == "failed"
    assert not LearningMemoryUpdate.objects.exists()


def test_a_second_outcome_is_refused_with_409(worker_client):
    event = worker_client.post(EVENTS, event_body(), format="json").json()
    worker_client.post(outcome_url(event["id"]), {"outcome": "failed"}, format="json")

    second = worker_client.post(outcome_url(event["id"]), {"outcome": "resolved"}, format="json")

    assert second.status_code == 409
    assert second["Content-Type"] == "application/problem+json"
    problem = second.json()
    assert problem["type"].endswith("/outcome-already-recorded")
    assert problem["outcome"] == "failed"
    assert RepairEvent.objects.get(pk=event["id"]).outcome == "failed"
    assert not LearningMemoryUpdate.objects.exists()


def test_an_outcome_given_at_ingest_cannot_be_reported_again(worker_client):
    event = worker_client.post(EVENTS, event_body(outcome="resolved"), format="json").json()

    second = worker_client.post(outcome_url(event["id"]), {"outcome": "resolved"}, format="json")

    assert second.status_code == 409
    assert LearningMemoryUpdate.objects.get().occurrences == 1


def test_a_worker_cannot_report_the_outcome_of_another_workers_event(worker_client, beta_client):
    event = worker_client.post(EVENTS, event_body(), format="json").json()

    response = beta_client.post(outcome_url(event["id"]), {"outcome": "resolved"}, format="json")

    assert response.status_code == 404
    assert RepairEvent.objects.get(pk=event["id"]).outcome == ""


def test_a_person_reports_no_outcome_through_the_api(worker_client, owner, session_client):
    event = worker_client.post(EVENTS, event_body(), format="json").json()

    response = session_client(owner).post(
        outcome_url(event["id"]), {"outcome": "resolved"}, format="json"
    )

    assert response.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"outcome": "fixed"},
        {},
        {"outcome": "failed", "lesson": "do not retry"},
        {"outcome": "resolved", "next_round_priority": 0},
        {"outcome": "resolved", "next_round_priority": 6},
    ],
)
def test_a_bad_outcome_body_is_a_400_with_field_errors(worker_client, body):
    event = worker_client.post(EVENTS, event_body(), format="json").json()

    response = worker_client.post(outcome_url(event["id"]), body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"]
    assert RepairEvent.objects.get(pk=event["id"]).outcome == ""


def test_a_lesson_at_ingest_without_a_resolved_outcome_is_refused(worker_client):
    response = worker_client.post(EVENTS, event_body(lesson="retry once"), format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "#/outcome"
    assert not RepairEvent.objects.exists()


def test_an_event_reported_without_an_outcome_costs_no_outcome_or_learning_query(worker_client):
    worker_client.post(EVENTS, event_body(), format="json")  # warm the policy and the token

    with CaptureQueriesContext(connection) as queries:
        response = worker_client.post(EVENTS, event_body(job="JOB-2"), format="json")

    assert response.status_code == 201
    sql = [query["sql"] for query in queries]
    assert not [q for q in sql if "learning_memory_updates" in q]
    # (This second report raises the fingerprint's proposal, which links its event to it
    # with an UPDATE of proposal_id; no outcome is written.)
    assert not [
        q for q in sql if q.startswith("UPDATE") and "worker_repair_events" in q and "outcome" in q
    ]
