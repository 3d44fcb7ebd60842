"""Proposals are decided in the console: Adopt, Reject and Defer ask for a rationale, call
the decision service per proposal and report each outcome; only deciders see them."""

import pytest
from django.urls import reverse

from policies.models import PolicyDecision, Proposal, WorkerPolicy
from tests.console import EVENTS, action_names, run_action, shown_messages
from tests.factories import event_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def changelist() -> str:
    return reverse("admin:policies_proposal_changelist")


def question(key: str) -> Proposal:
    return Proposal.objects.get(kind="policy_question", question_key=key)


@pytest.fixture
def repair(worker_client) -> Proposal:
    """A repair proposal raised by the fleet: the same error reported twice."""
    for _ in range(2):
        worker_client.post(EVENTS, event_body(action="diagnose"), format="json")
    return Proposal.objects.get(kind="repair")


@pytest.mark.parametrize(
    ("role", "offered"),
    [
        ("owner", {"adopt", "reject", "defer"}),
        ("reviewer", {"adopt", "reject", "defer"}),
        ("viewer", set()),
    ],
)
def test_only_deciders_are_offered_the_decisions(role, offered, request, client, changelist):
    client.force_login(request.getfixturevalue(role))

    assert action_names(client, changelist) == offered


def test_the_list_says_how_many_policy_questions_are_still_open(client, owner, changelist):
    client.force_login(owner)
    before = client.get(changelist).content.decode()
    run_action(client, changelist, "reject", [question("auto_touch_retry")], rationale="not yet")

    after = client.get(changelist).content.decode()

    assert "3 of 3 policy questions still open" in before
    assert "2 of 3 policy questions still open" in after


def test_deciding_first_asks_for_the_rationale(client, owner, changelist):
    client.force_login(owner)
    proposal = question("auto_touch_retry")

    page = client.post(changelist, {"action": "adopt", "_selected_action": [proposal.pk]})

    assert page.status_code == 200
    assert b'name="rationale"' in page.content
    assert b'name="policy_change"' in page.content
    assert not PolicyDecision.objects.exists()


def test_the_owner_answers_a_question_and_the_policy_gets_a_new_version(client, owner, changelist):
    client.force_login(owner)
    proposal = question("auto_touch_retry")

    response = run_action(
        client, changelist, "adopt", [proposal], rationale="touch is harmless", policy_change=""
    )

    decision = PolicyDecision.objects.get()
    assert (decision.decision, decision.rationale, decision.decided_by) == (
        "adopt",
        "touch is harmless",
        owner,
    )
    assert decision.policy_after.version == 2
    assert decision.policy_after.allow_auto_touch is True  # the question's own change
    assert decision.policy_after.answered_questions == {"auto_touch_retry": "adopt"}
    assert Proposal.objects.get(pk=proposal.pk).status == "adopted"
    assert shown_messages(response) == [
        f"Proposal #{proposal.pk} adopted (decision #{decision.pk}, policy v1 → v2)."
    ]


def test_the_owner_adopts_with_a_policy_change_of_their_own(client, owner, changelist):
    client.force_login(owner)

    run_action(
        client,
        changelist,
        "adopt",
        [question("approval_matrix")],
        rationale="the owner approves restarts",
        policy_change='{"approval_matrix": {"restart_session": "pls_owner"}}',
    )

    assert WorkerPolicy.objects.get(version=2).approval_matrix == {"restart_session": "pls_owner"}


def test_a_policy_change_is_checked_by_the_api_rules(client, owner, changelist):
    client.force_login(owner)

    page = run_action(
        client,
        changelist,
        "adopt",
        [question("approval_matrix")],
        rationale="let the owner finish jobs",
        policy_change='{"approval_matrix": {"hard_complete": "pls_owner"}}',
    )

    assert "denied under every policy" in page.content.decode()
    assert not PolicyDecision.objects.exists()


def test_a_decision_needs_a_rationale(client, owner, changelist):
    client.force_login(owner)

    page = run_action(client, changelist, "reject", [question("approval_matrix")])

    assert b"This field is required." in page.content
    assert not PolicyDecision.objects.exists()


def test_a_reviewer_cannot_answer_a_policy_question(client, reviewer, changelist):
    client.force_login(reviewer)
    proposal = question("auto_repair_proposal")

    response = run_action(client, changelist, "adopt", [proposal], rationale="yes")

    assert shown_messages(response) == [
        f"Proposal #{proposal.pk}: Only the PLS owner answers policy questions."
    ]
    assert Proposal.objects.get(pk=proposal.pk).status == "open"
    assert WorkerPolicy.objects.count() == 1


def test_the_reviewer_adopts_a_repair_with_its_fix(client, reviewer, changelist, repair):
    client.force_login(reviewer)

    run_action(
        client,
        changelist,
        "adopt",
        [repair],
        rationale="known flake",
        policy_change="",
        fix="re-fetch the context after 30 s",
    )

    policy = WorkerPolicy.objects.get(version=2)
    assert policy.known_repairs[0]["fix"] == "re-fetch the context after 30 s"
    assert policy.known_repairs[0]["proposal"] == repair.pk
    assert Proposal.objects.get(pk=repair.pk).status == "adopted"


def test_deferring_keeps_the_policy_and_leaves_the_proposal_undecided(
    client, reviewer, changelist, repair
):
    client.force_login(reviewer)

    run_action(client, changelist, "defer", [repair], rationale="wait for more data")

    decision = PolicyDecision.objects.get()
    assert (decision.decision, decision.policy_after) == ("defer", None)
    assert Proposal.objects.get(pk=repair.pk).status == "deferred"
    assert WorkerPolicy.objects.count() == 1


def test_a_decided_proposal_cannot_be_decided_again(client, owner, changelist, repair):
    client.force_login(owner)
    run_action(client, changelist, "reject", [repair], rationale="not a real fix")

    response = run_action(client, changelist, "reject", [repair], rationale="again")

    assert shown_messages(response) == [
        f"Proposal #{repair.pk}: Proposal #{repair.pk} was already rejected."
    ]
    assert PolicyDecision.objects.count() == 1


def test_the_list_shows_occurrences_workers_and_fingerprint(client, viewer, changelist, repair):
    client.force_login(viewer)

    page = client.get(changelist, {"kind__exact": "repair"}).content.decode()

    assert repair.fingerprint[:12] in page
    assert repair.affected_workers[0] in page
    assert f'<td class="field-occurrences">{repair.occurrences}</td>' in page
