"""The three open questions of DESIGN §4: each answer is a decision and a new policy version."""

import pytest

from policies.models import Proposal, WorkerPolicy
from policies.selectors import open_question_count

pytestmark = pytest.mark.django_db


def question(key: str) -> Proposal:
    return Proposal.objects.get(kind="policy_question", question_key=key)


def answer(client, key: str, **body):
    return client.post(f"/api/v1/proposals/{question(key).pk}/decide", body, format="json")


def test_three_questions_are_open_after_migrate():
    assert open_question_count() == 3
    assert {p.question_key for p in Proposal.objects.filter(kind="policy_question")} == {
        "auto_touch_retry",
        "auto_repair_proposal",
        "approval_matrix",
    }


def test_adopting_a_question_applies_its_suggested_change(owner, session_client):
    response = answer(
        session_client(owner), "auto_touch_retry", decision="adopt", rationale="yes, once"
    )

    assert response.status_code == 200, response.content
    policy = WorkerPolicy.objects.get(version=2)
    assert policy.allow_auto_touch is True
    assert policy.answered_questions == {"auto_touch_retry": "adopt"}
    assert open_question_count() == 2


def test_the_owner_may_answer_with_another_change(owner, session_client):
    answer(
        session_client(owner),
        "approval_matrix",
        decision="adopt",
        rationale="owner approves resets and reruns",
        policy_change={
            "approval_matrix": {"reset_session": "pls_owner", "rerun_pipeline": "pls_owner"}
        },
    )

    matrix = WorkerPolicy.objects.get(version=2).approval_matrix
    assert matrix == {"reset_session": "pls_owner", "rerun_pipeline": "pls_owner"}


def test_rejecting_a_question_is_an_answer_that_changes_no_rule(owner, session_client):
    response = answer(
        session_client(owner), "auto_touch_retry", decision="reject", rationale="not yet"
    )

    assert response.json()["policy_after"] == 2
    policy = WorkerPolicy.objects.get(version=2)
    assert policy.answered_questions == {"auto_touch_retry": "reject"}
    assert policy.as_dict() == WorkerPolicy.objects.get(version=1).as_dict()


def test_a_reject_carrying_a_change_is_refused(owner, session_client):
    response = answer(
        session_client(owner),
        "auto_repair_proposal",
        decision="reject",
        rationale="we triage by hand",
        policy_change={"auto_proposal_threshold": 0},
    )

    assert response.status_code == 400
    assert not WorkerPolicy.objects.filter(version=2).exists()
    assert open_question_count() == 3


def test_turning_automatic_proposals_off_is_an_adoption_with_that_change(owner, session_client):
    response = answer(
        session_client(owner),
        "auto_repair_proposal",
        decision="adopt",
        rationale="we triage by hand",
        policy_change={"auto_proposal_threshold": 0},
    )

    assert response.status_code == 200, response.content
    assert WorkerPolicy.objects.get(version=2).auto_proposal_threshold == 0


def test_the_second_question_says_how_to_turn_proposals_off(db):
    detail = question("auto_repair_proposal").detail

    assert "adopt with auto_proposal_threshold 0" in detail


def test_deferring_a_question_keeps_it_open(owner, session_client):
    answer(session_client(owner), "auto_touch_retry", decision="defer", rationale="next week")

    assert open_question_count() == 3
    assert WorkerPolicy.objects.count() == 1


def test_only_the_owner_answers_policy_questions(reviewer, session_client):
    response = answer(
        session_client(reviewer), "auto_touch_retry", decision="adopt", rationale="why not"
    )

    assert response.status_code == 403
    assert "owner" in response.json()["detail"]
    assert open_question_count() == 3


def test_open_questions_are_listed_through_the_api(viewer, session_client):
    body = (
        session_client(viewer)
        .get("/api/v1/proposals", {"kind": "policy_question", "status": "open"})
        .json()
    )

    assert len(body["results"]) == 3


def test_the_approval_matrix_question_says_an_action_may_need_nobody(db):
    question = Proposal.objects.get(question_key="approval_matrix")

    assert '"none"' in question.detail
