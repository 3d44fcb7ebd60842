"""Each rung of the action ladder (DESIGN §3), judged by the one pure function."""

from datetime import timedelta

import pytest

from policies import ladder
from policies.models import WorkerPolicy, default_approval_matrix, default_protected_resources


def interim(**overrides) -> WorkerPolicy:
    values = {
        "max_auto_retries": 1,
        "allow_auto_touch": False,
        "auto_proposal_threshold": 2,
        "repeat_window": timedelta(hours=24),
        "approval_ttl": timedelta(hours=24),
        "approval_matrix": default_approval_matrix(),
        "protected_resources": default_protected_resources(),
    }
    values.update(overrides)
    return WorkerPolicy(**values)


@pytest.mark.parametrize("action", ["diagnose", "record_blocker", "report_friction"])
def test_observing_is_always_allowed(action):
    verdict = ladder.judge(interim(), action=action, resources=["orders-db"])

    assert (verdict.decision, verdict.rung) == ("allowed", "L0")


def test_first_retry_is_allowed_with_none_left():
    verdict = ladder.judge(interim(), action="retry", resources=["JOB-1"], spent=0)

    assert (verdict.decision, verdict.rung, verdict.retries_left) == ("allowed", "L1", 0)
    assert verdict.approver_role is None


def test_retry_over_budget_needs_the_risk_reviewer():
    verdict = ladder.judge(interim(), action="retry", resources=["JOB-1"], spent=1)

    assert verdict.decision == "needs_approval"
    assert verdict.rung == "L2"
    assert verdict.retries_left == 0
    assert verdict.approver_role == "risk_reviewer"
    assert "Over budget" in verdict.reason


def test_a_larger_budget_counts_down():
    policy = interim(max_auto_retries=3)

    left = [ladder.judge(policy, action="retry", spent=n).retries_left for n in range(3)]

    assert left == [2, 1, 0]


def test_touch_needs_approval_unless_the_policy_allows_it():
    assert ladder.judge(interim(), action="touch").decision == "needs_approval"
    assert ladder.judge(interim(allow_auto_touch=True), action="touch").decision == "allowed"


def test_propose_is_safe():
    assert ladder.judge(interim(), action="propose").decision == "allowed"


@pytest.mark.parametrize("action", ladder.RISKY)
def test_risky_actions_go_to_the_role_in_the_approval_matrix(action):
    matrix = {**default_approval_matrix(), action: "pls_owner"}

    verdict = ladder.judge(interim(approval_matrix=matrix), action=action, resources=["JOB-1"])

    assert (verdict.decision, verdict.rung, verdict.approver_role) == (
        "needs_approval",
        "L2",
        "pls_owner",
    )


def test_an_action_missing_from_the_matrix_still_needs_the_risk_reviewer():
    verdict = ladder.judge(interim(approval_matrix={}), action="release")

    assert verdict.approver_role == "risk_reviewer"


@pytest.mark.parametrize(
    "policy",
    [
        interim(),
        interim(max_auto_retries=10, allow_auto_touch=True, protected_resources=[]),
        interim(approval_matrix={"hard_complete": "pls_owner"}),
    ],
)
def test_hard_complete_is_denied_under_any_policy(policy):
    verdict = ladder.judge(policy, action="hard_complete", resources=["JOB-1"])

    assert (verdict.decision, verdict.rung) == ("denied", "L3")


@pytest.mark.parametrize("target", ["orders-db", "ORDERS-DB", "prod-postgres-1", "postgres"])
def test_acting_on_a_protected_resource_is_denied(target):
    verdict = ladder.judge(interim(max_auto_retries=5), action="retry", resources=[target])

    assert verdict.decision == "denied"
    assert "protected resource" in verdict.reason


def test_a_resource_beyond_the_floor_is_protected_by_the_policy_in_force():
    protected = interim(protected_resources=["vault-*"])

    assert ladder.judge(protected, action="retry", resources=["vault-1"]).decision == "denied"
    assert ladder.judge(interim(), action="retry", resources=["vault-1"]).decision == "allowed"


def test_the_floor_protects_whatever_the_policy_lists():
    verdict = ladder.judge(interim(protected_resources=[]), action="retry", resources=["x-db"])

    assert verdict.decision == "denied"


def test_the_strictest_verdict_over_the_resources_is_given():
    policy = interim(approval_matrix={"restart_session": "none"})

    assert ladder.judge(policy, action="restart_session", resources=["cache-7"]).decision == (
        "allowed"
    )
    verdict = ladder.judge(policy, action="restart_session", resources=["cache-7", "orders-db"])
    assert verdict.decision == "denied"
    assert "orders-db" in verdict.reason


def test_an_unknown_action_is_refused():
    with pytest.raises(ladder.UnknownAction):
        ladder.judge(interim(), action="format_disk")


def test_a_risky_action_the_matrix_frees_is_allowed_without_approval():
    policy = interim(approval_matrix={**default_approval_matrix(), "release": "none"})

    verdict = ladder.judge(policy, action="release", resources=["JOB-1"])

    assert (verdict.decision, verdict.rung, verdict.approver_role) == ("allowed", "L2", None)
    assert ladder.judge(policy, action="reclaim").decision == "needs_approval"


def test_a_freed_risky_action_on_a_protected_resource_is_still_denied():
    policy = interim(approval_matrix={"release": "none"})

    assert ladder.judge(policy, action="release", resources=["orders-db"]).decision == "denied"
