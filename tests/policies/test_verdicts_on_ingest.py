"""The verdict comes back with the reported event and is stored with it."""

import pytest
from rest_framework.test import APIClient

from repairs.models import RepairEvent
from tests.factories import WorkerFactory, event_body, issue_token, policy_set

EVENTS = "/api/v1/worker-repair-events"

pytestmark = pytest.mark.django_db


def report(client, **fields):
    response = client.post(EVENTS, event_body(**fields), format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_second_retry_of_a_job_and_error_class_needs_approval(worker_client):
    first = report(worker_client, action="retry")
    second = report(worker_client, action="retry")

    assert first["verdict"]["decision"] == "allowed"
    assert first["verdict"]["retries_left"] == 0
    assert second["verdict"]["decision"] == "needs_approval"
    assert second["verdict"]["approver_role"] == "risk_reviewer"
    assert second["self_heal_request"] is not None


def test_the_verdict_is_stored_with_the_event(worker_client):
    body = report(worker_client, action="retry")

    event = RepairEvent.objects.get(pk=body["id"])
    assert event.decision == "allowed"
    assert event.verdict == body["verdict"]
    assert event.policy.version == 1


def test_the_retry_budget_is_per_job(worker_client):
    report(worker_client, action="retry", job="JOB-1")

    other_job = report(worker_client, action="retry", job="JOB-2")

    assert other_job["verdict"]["decision"] == "allowed"


def test_the_retry_budget_is_per_error_class(worker_client):
    report(worker_client, action="retry", error_class="context_fetch_failed")

    other_class = report(worker_client, action="retry", error_class="complete_fetch_failed")

    assert other_class["verdict"]["decision"] == "allowed"


def test_the_retry_budget_is_per_worker(worker_client):
    report(worker_client, action="retry")
    colleague = APIClient()
    colleague.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token(WorkerFactory())}")

    assert report(colleague, action="retry")["verdict"]["decision"] == "allowed"


def test_an_escalated_retry_does_not_spend_the_budget(worker_client):
    policy_set(max_auto_retries=2)
    verdicts = [report(worker_client, action="retry")["verdict"] for _ in range(4)]

    assert [v["decision"] for v in verdicts] == [
        "allowed",
        "allowed",
        "needs_approval",
        "needs_approval",
    ]
    assert [v["retries_left"] for v in verdicts] == [1, 0, 0, 0]


def test_a_raised_budget_applies_to_the_next_report(worker_client):
    report(worker_client, action="retry")
    policy_set(max_auto_retries=2)

    assert report(worker_client, action="retry")["verdict"]["decision"] == "allowed"


def test_an_action_on_a_protected_resource_is_denied(worker_client):
    body = report(worker_client, action="restart_session", target="billing-postgres")

    assert body["verdict"]["decision"] == "denied"
    assert body["verdict"]["rung"] == "L3"
    assert body["self_heal_request"] is None


def test_the_job_is_the_target_when_none_is_named(worker_client):
    body = report(worker_client, action="release", job="orders-db")

    assert body["verdict"]["decision"] == "denied"


def test_hard_complete_is_denied_even_under_the_loosest_policy(worker_client):
    policy_set(
        max_auto_retries=10,
        allow_auto_touch=True,
        approval_matrix=dict.fromkeys(["release", "reclaim", "restart_session"], "none"),
    )

    body = report(worker_client, action="hard_complete")

    assert body["verdict"]["decision"] == "denied"


def test_release_needs_approval_under_the_interim_policy(worker_client):
    body = report(worker_client, action="release")

    assert body["verdict"]["decision"] == "needs_approval"
    assert body["verdict"]["rung"] == "L2"


def test_an_event_without_an_action_has_no_verdict(worker_client):
    body = report(worker_client, action="")

    assert body["verdict"] is None


def test_an_unknown_action_is_a_problem_naming_the_known_ones(worker_client):
    response = worker_client.post(EVENTS, event_body(action="format_disk"), format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/unknown-action")
    assert "retry" in problem["known_actions"]
    assert "hard_complete" in problem["detail"]
    assert not RepairEvent.objects.exists()
