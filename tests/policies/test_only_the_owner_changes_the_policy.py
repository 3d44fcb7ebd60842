"""Only the owner changes the policy, whichever door (issue 12, finding 3): the PATCH, a
proposal decision carrying a ``policy_change``, the console's forms and the question
answers. The risk reviewer still adopts and rejects repair proposals; a reject never
changes the policy."""

import pytest
from django.urls import reverse

from policies.models import PolicyDecision, Proposal, WorkerPolicy
from tests.console import run_action
from tests.factories import event_body

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/worker-repair-events"
LOOSER = {
    "approval_matrix": {"release": "none", "reclaim": "none", "restart_session": "none"},
    "max_auto_retries": 10,
}


@pytest.fixture
def repair(worker_client) -> Proposal:
    """A repair proposal raised by the fleet: the same error reported twice."""
    for _ in range(2):
        worker_client.post(EVENTS, event_body(action="diagnose"), format="json")
    return Proposal.objects.get(kind="repair")


def decide(client, proposal: Proposal, **body):
    return client.post(f"/api/v1/proposals/{proposal.pk}/decide", body, format="json")


def test_the_reviewer_cannot_rewrite_the_policy_through_a_decision(
    reviewer, session_client, repair
):
    response = decide(
        session_client(reviewer),
        repair,
        decision="adopt",
        rationale="while I am here",
        policy_change=LOOSER,
    )

    assert response.status_code == 403, response.content
    assert "owner" in response.json()["detail"]
    assert WorkerPolicy.objects.count() == 1
    assert Proposal.objects.get(pk=repair.pk).status == "open"


def test_the_reviewer_still_adopts_a_repair_proposal(reviewer, session_client, repair):
    response = decide(
        session_client(reviewer), repair, decision="adopt", rationale="known lease bug"
    )

    assert response.status_code == 200, response.content
    policy = WorkerPolicy.objects.get(version=2)
    assert policy.known_repairs[0]["proposal"] == repair.pk
    # Nothing a rule is made of changed.
    assert WorkerPolicy.objects.get(version=1).as_dict() == policy.as_dict()


def test_the_reviewer_still_rejects_a_repair_proposal(reviewer, session_client, repair):
    response = decide(session_client(reviewer), repair, decision="reject", rationale="noise")

    assert response.status_code == 200, response.content
    assert Proposal.objects.get(pk=repair.pk).status == "rejected"
    assert WorkerPolicy.objects.count() == 1


def test_the_reviewer_cannot_adopt_a_proposal_whose_own_change_rewrites_the_policy(
    reviewer, session_client, repair
):
    Proposal.objects.filter(pk=repair.pk).update(policy_change={"max_auto_retries": 5})

    response = decide(session_client(reviewer), repair, decision="adopt", rationale="take it")

    assert response.status_code == 403
    assert WorkerPolicy.objects.count() == 1


@pytest.mark.parametrize("decision", ["reject", "defer"])
def test_only_an_adoption_carries_a_policy_change(owner, session_client, repair, decision):
    response = decide(
        session_client(owner),
        repair,
        decision=decision,
        rationale="no, but loosen it anyway",
        policy_change={"max_auto_retries": 10},
    )

    assert response.status_code == 400, response.content
    assert response.json()["type"].endswith("/invalid-policy-change")
    assert "adopt" in response.json()["detail"]
    assert WorkerPolicy.objects.get(version=1).max_auto_retries == 1
    assert not WorkerPolicy.objects.filter(version=2).exists()
    assert Proposal.objects.get(pk=repair.pk).status == "open"


def test_a_reject_from_the_reviewer_carrying_a_change_changes_nothing(
    reviewer, session_client, repair
):
    response = decide(
        session_client(reviewer),
        repair,
        decision="reject",
        rationale="no",
        policy_change={"max_auto_retries": 10},
    )

    assert response.status_code in (400, 403)
    assert WorkerPolicy.objects.count() == 1
    assert not PolicyDecision.objects.exists()


def test_the_owner_adopts_with_a_policy_change(owner, session_client, repair):
    response = decide(
        session_client(owner),
        repair,
        decision="adopt",
        rationale="two retries for this one",
        policy_change={"max_auto_retries": 2},
    )

    assert response.status_code == 200, response.content
    assert WorkerPolicy.objects.get(version=2).max_auto_retries == 2


def test_the_reviewer_cannot_change_the_policy_in_the_console_either(client, reviewer, repair):
    client.force_login(reviewer)
    changelist = reverse("admin:policies_proposal_changelist")

    response = run_action(
        client,
        changelist,
        "adopt",
        [repair],
        rationale="sneak it in",
        policy_change='{"max_auto_retries": 10}',
    )

    assert WorkerPolicy.objects.count() == 1
    assert not PolicyDecision.objects.exists()
    assert "Only the PLS owner changes the worker policy" in response.content.decode()


def test_the_console_offers_the_reviewer_no_policy_change_field(client, reviewer, repair):
    client.force_login(reviewer)
    changelist = reverse("admin:policies_proposal_changelist")

    page = client.post(changelist, {"action": "adopt", "_selected_action": [repair.pk]})

    assert page.status_code == 200
    assert b'name="rationale"' in page.content
    assert b'name="policy_change"' not in page.content
