"""Properties of the policy ladder under any policy (issue 12, item 4): whatever change the
API's serializer accepts, the forbidden actions and the targets the protection floor covers,
in any spelling, are denied.

Observing (L0) stays allowed on a protected target by design (it changes nothing), so the
protected-target property is about every other action.
"""

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from core.roles import PLS_OWNER, RISK_REVIEWER
from policies import ladder
from policies.api import PolicyFieldsInput
from policies.models import NO_APPROVAL, WorkerPolicy
from policies.simulation import policy_draft

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None)
# Through the HTTP API on the test database: fewer, slower examples.
API_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

ACTING = [a for a in ladder.KNOWN_ACTIONS if a not in ladder.OBSERVE]
WORD = st.from_regex(r"[a-z][a-z0-9]{0,9}", fullmatch=True)
# Anything a person might type as a pattern, the floor's own and look-alikes of them too.
PATTERN = st.one_of(
    st.sampled_from(["*-db", "*postgres*", "*mysql*", "*redis*", "*mongo*"]),
    st.sampled_from(["*-db*", "*postgres", "*_DB", "*-DB ", "mongo", "*", "", "[a-z]*", "db-*"]),
    # Without lone surrogates and control characters, which the serializer refuses anyway
    # (DRF's CharField): generated, they would only be filtered out again.
    st.text(st.characters(exclude_categories=["Cs", "Cc"]), max_size=30),
)


def _policy_changes() -> st.SearchStrategy[dict]:
    """Bodies of a policy change, mostly within what the serializer accepts."""
    approvable = [*ladder.RISKY, *ladder.BUDGETED]
    return st.fixed_dictionaries(
        {},
        optional={
            "max_auto_retries": st.integers(0, 10),
            "allow_auto_touch": st.booleans(),
            "auto_proposal_threshold": st.integers(0, 1000),
            "repeat_window": st.integers(60, 30 * 86400),
            "approval_ttl": st.integers(60, 30 * 86400),
            "approval_matrix": st.dictionaries(
                st.sampled_from(approvable),
                st.sampled_from([RISK_REVIEWER, PLS_OWNER, NO_APPROVAL]),
            ),
            "protected_resources": st.lists(PATTERN, max_size=12),
        },
    )


@st.composite
def accepted_changes(draw) -> dict:
    """A policy change the API's serializer accepts, as the service would receive it."""
    payload = PolicyFieldsInput(data=draw(_policy_changes()))
    assume(payload.is_valid())
    return dict(payload.validated_data)


@st.composite
def protected_spellings(draw) -> str:
    """A name the floor protects, written any of the ways the same resource is named."""
    word = draw(WORD)
    shapes = ["{}-db", "{}postgres", "postgres{}", "{}-mysql", "redis-{}", "mongo{}"]
    name = draw(st.sampled_from(shapes)).format(word)
    name = "".join(
        ch.upper() if draw(st.booleans()) else ch
        for ch in name.replace("-", draw(st.sampled_from("-_")))
    )
    host = name + draw(st.sampled_from(["", ".internal", ".svc.cluster.local", ".example.com"]))
    host += draw(st.sampled_from(["", ":5432", ":6379", ":27017"]))
    path = draw(st.sampled_from(["", "/replica", "/app", "/0"]))
    return draw(
        st.sampled_from(
            [
                host + path,
                f"{draw(WORD)}/{host}",
                f"postgres://{draw(WORD)}:{draw(WORD)}@{host}{path}",
                f"https://{host}{path}?sslmode=require",
                f"{draw(WORD)}-node,{host}",
            ]
        )
    )


def _resources(draw, protected: str) -> list[str]:
    """``protected`` among other resources, in any order."""
    others = draw(st.lists(st.sampled_from(["cache-node-7", "JOB-1", "ci-runner"]), max_size=2))
    return draw(st.permutations([protected, *others]))


def _draft(changes: dict) -> WorkerPolicy:
    return policy_draft(WorkerPolicy(), changes)


@PROPERTY_SETTINGS
@given(
    accepted_changes(),
    st.sampled_from(ladder.FORBIDDEN),
    st.lists(st.text(max_size=40), max_size=3),
    st.integers(0, 100),
)
def test_a_forbidden_action_is_denied_under_any_accepted_policy(changes, action, resources, spent):
    verdict = ladder.judge(_draft(changes), action=action, resources=resources, spent=spent)

    assert (verdict.decision, verdict.rung) == (ladder.DENIED, "L3")


@PROPERTY_SETTINGS
@given(accepted_changes(), st.sampled_from(ACTING), st.data(), st.integers(0, 100))
def test_a_floor_protected_target_is_denied_under_any_accepted_policy(changes, action, data, spent):
    protected = data.draw(protected_spellings())
    resources = _resources(data.draw, protected)

    verdict = ladder.judge(_draft(changes), action=action, resources=resources, spent=spent)

    assert verdict.decision == ladder.DENIED, (protected, verdict)


@PROPERTY_SETTINGS
@given(protected_spellings())
def test_every_spelling_of_a_floor_protected_name_matches_the_floor(target):
    assert ladder.is_protected(target, ladder.protected_floor()) is not None


@PROPERTY_SETTINGS
@given(st.text(max_size=200))
def test_any_target_is_judged_without_raising(target):
    verdict = ladder.judge(_draft({}), action="restart_session", resources=[target])

    assert verdict.decision in (ladder.ALLOWED, ladder.NEEDS_APPROVAL, ladder.DENIED)


@pytest.mark.django_db
@API_SETTINGS
@given(body=_policy_changes(), action=st.sampled_from(ACTING), data=st.data())
def test_no_patch_the_api_accepts_lets_a_worker_act_on_a_protected_target(
    owner, session_client, worker_client, body, action, data
):
    """The same, end to end: the owner PATCHes the policy with the generated change (the
    service refuses some, a 400 that leaves the policy as it was), then a worker reports
    the action on a protected name."""
    client = session_client(owner)
    current = client.get("/api/v1/worker-policy/current").json()["id"]
    changed = client.patch(
        f"/api/v1/worker-policy/{current}", {**body, "rationale": "property"}, format="json"
    )
    assert changed.status_code in (200, 400), changed.content
    protected = data.draw(protected_spellings())

    response = worker_client.post(
        "/api/v1/worker-repair-events",
        {"gate": "stuck_claim", "error_class": "x", "action": action, "target": protected},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["verdict"]["decision"] == ladder.DENIED
    assert response.json()["self_heal_request"] is None
