"""Replaying the window's actions through a draft policy, next to what was decided."""

import pytest

from tests.factories import event_body

EVENTS = "/api/v1/worker-repair-events"
SIMULATE = "/api/v1/worker-policy/simulate"

pytestmark = pytest.mark.django_db


@pytest.fixture
def known_events(worker_client):
    """Under the interim policy: retry JOB-1 twice (allowed, then escalated), touch JOB-2
    (escalated), release JOB-3 (escalated), hard_complete JOB-4 (denied), diagnose (allowed)."""
    for word, (job, action) in zip(
        ["one", "two", "three", "four", "five", "six"],
        [
            ("JOB-1", "retry"),
            ("JOB-1", "retry"),
            ("JOB-2", "touch"),
            ("JOB-3", "release"),
            ("JOB-4", "hard_complete"),
            ("JOB-5", "diagnose"),
        ],
        strict=True,
    ):
        # Distinct messages: repeats would raise a proposal and add its own event.
        body = event_body(job=job, action=action, message=f"{action} failed, case {word}")
        assert worker_client.post(EVENTS, body, format="json").status_code == 201


def simulate(client, **policy):
    response = client.post(SIMULATE, {"policy": policy, "days": 7}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_the_current_policy_changes_nothing(known_events, owner, session_client):
    result = simulate(session_client(owner))

    assert result["events_considered"] == 6
    assert result["actual"] == result["simulated"]
    assert result["actual"] == {"allowed": 2, "needs_approval": 3, "denied": 1}
    assert result["changed"] == []
    assert result["unchanged"] == 6
    assert result["base_version"] == 1


def test_a_looser_draft_shows_which_verdicts_would_change(known_events, reviewer, session_client):
    result = simulate(session_client(reviewer), max_auto_retries=2, allow_auto_touch=True)

    assert result["simulated"] == {"allowed": 4, "needs_approval": 1, "denied": 1}
    (change,) = result["changed"]
    assert change["change"] == "needs_approval → allowed"
    assert change["count"] == 2
    assert {e["action"] for e in change["examples"]} == {"retry", "touch"}
    assert result["unchanged"] == 4


def test_a_stricter_draft_escalates_and_denies(known_events, viewer, session_client):
    result = simulate(session_client(viewer), max_auto_retries=0, protected_resources=["JOB-3"])

    changes = {c["change"]: c["count"] for c in result["changed"]}
    assert changes == {"allowed → needs_approval": 1, "needs_approval → denied": 1}


def test_the_simulation_changes_nothing_it_replays(known_events, owner, session_client):
    from policies.models import WorkerPolicy
    from repairs.models import RepairEvent

    before = list(RepairEvent.objects.values_list("decision", flat=True))
    simulate(session_client(owner), max_auto_retries=5)

    assert list(RepairEvent.objects.values_list("decision", flat=True)) == before
    assert WorkerPolicy.objects.count() == 1


def test_workers_cannot_simulate(worker_client):
    response = worker_client.post(SIMULATE, {"policy": {}, "days": 7}, format="json")

    assert response.status_code == 403


def test_a_bad_draft_is_a_problem_with_pointers(owner, session_client):
    response = session_client(owner).post(
        SIMULATE, {"policy": {"max_auto_retries": -1}, "days": 500}, format="json"
    )

    assert response.status_code == 400
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert pointers == {"#/policy/max_auto_retries", "#/days"}


def test_the_record_of_a_raised_proposal_is_not_replayed(worker_client, owner, session_client):
    for _ in range(2):
        worker_client.post(EVENTS, event_body(action="retry"), format="json")

    result = simulate(session_client(owner))

    assert result["events_considered"] == 2  # not the repair_suggested "propose" record
