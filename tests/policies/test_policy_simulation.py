"""Replaying the window's actions through a draft policy, next to what was decided."""

from datetime import UTC, datetime

import pytest

from policies.models import WorkerPolicy
from policies.simulation import (
    EXAMPLES_PER_CHANGE,
    PastAction,
    PastToolCall,
    simulate_tool_calls,
)
from policies.simulation import simulate as simulate_actions
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


def test_both_simulations_count_every_change_but_keep_only_the_first_examples():
    """``simulate`` and ``simulate_tool_calls`` share one tally: every changed verdict is
    counted, and each change keeps its first EXAMPLES_PER_CHANGE rows, oldest first."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    many = EXAMPLES_PER_CHANGE + 3
    draft = WorkerPolicy()  # diagnosing and reading are observing: allowed under any policy
    actions = [
        PastAction(n, "w", f"JOB-{n}", "E", "diagnose", "", "denied", at) for n in range(many)
    ]
    calls = [
        PastToolCall(n, "w", f"JOB-{n}", "Read", {"file_path": "a"}, "r", "diagnose", "denied", at)
        for n in range(many)
    ] + [
        PastToolCall(99, "w", "JOB-99", "Read", {"file_path": "a"}, "r", "diagnose", "allowed", at)
    ]

    by_action = simulate_actions(draft, actions)
    by_call = simulate_tool_calls(draft, calls)

    assert by_action["events_considered"] == many and by_call["calls_considered"] == many + 1
    assert by_action["actual"] == {"denied": many} and by_action["simulated"] == {"allowed": many}
    assert by_call["simulated"] == {"allowed": many + 1} and by_call["unchanged"] == 1
    for result, key in ((by_action, "event"), (by_call, "decision_id")):
        (change,) = result["changed"]
        assert change["change"] == "denied → allowed" and change["count"] == many
        assert [row[key] for row in change["examples"]] == list(range(EXAMPLES_PER_CHANGE))
