"""The worker policy is versioned: a change writes the next version and a decision record."""

import pytest

from policies.models import PolicyDecision, WorkerPolicy
from tests.factories import policy_set

CURRENT = "/api/v1/worker-policy/current"

pytestmark = pytest.mark.django_db


def patch(client, policy_id: int, **body):
    return client.patch(f"/api/v1/worker-policy/{policy_id}", body, format="json")


def test_the_interim_policy_is_in_force_after_migrate(worker_client):
    body = worker_client.get(CURRENT).json()

    assert body["version"] == 1
    assert body["is_current"] is True
    assert body["max_auto_retries"] == 1
    assert body["allow_auto_touch"] is False
    assert body["auto_proposal_threshold"] == 2
    assert body["repeat_window"] == body["approval_ttl"] == 86400
    assert body["approval_matrix"]["release"] == "risk_reviewer"
    assert body["protected_resources"] == ["*-db", "*postgres*"]


@pytest.mark.parametrize("role", ["owner", "reviewer", "viewer"])
def test_people_in_every_role_read_the_policy(role, request, session_client):
    person = request.getfixturevalue(role)

    assert session_client(person).get(CURRENT).status_code == 200


def test_the_owner_changes_the_policy_into_a_new_version(owner, session_client):
    client = session_client(owner)
    v1 = client.get(CURRENT).json()

    response = patch(client, v1["id"], max_auto_retries=2, rationale="flaky CI needs two")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["policy"]["version"] == 2
    assert body["policy"]["max_auto_retries"] == 2
    assert body["decision"]["changes"] == {"max_auto_retries": [1, 2]}
    assert body["decision"]["rationale"] == "flaky CI needs two"
    assert (body["decision"]["policy_before"], body["decision"]["policy_after"]) == (1, 2)
    assert client.get(CURRENT).json()["version"] == 2
    # The first version is untouched.
    assert WorkerPolicy.objects.get(version=1).max_auto_retries == 1


def test_a_change_needs_a_rationale(owner, session_client):
    response = patch(session_client(owner), 1, max_auto_retries=2)

    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "#/rationale"
    assert WorkerPolicy.objects.count() == 1


def test_unknown_fields_are_refused_not_ignored(owner, session_client):
    response = patch(session_client(owner), 1, max_retries=2, rationale="typo")

    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "#/max_retries"


def test_a_change_that_changes_nothing_is_refused(owner, session_client):
    response = patch(session_client(owner), 1, max_auto_retries=1, rationale="same")

    assert response.status_code == 400
    assert not PolicyDecision.objects.exists()


def test_hard_complete_cannot_be_put_in_the_approval_matrix(owner, session_client):
    response = patch(
        session_client(owner),
        1,
        approval_matrix={"hard_complete": "pls_owner"},
        rationale="let the owner approve it",
    )

    assert response.status_code == 400
    assert "denied under every policy" in response.json()["errors"][0]["detail"]


def test_the_owner_may_free_release_from_approval(owner, session_client):
    response = patch(
        session_client(owner),
        1,
        approval_matrix={"release": "none", "reclaim": "none"},
        rationale="question 3: release and reclaim need nobody",
    )

    assert response.status_code == 200, response.content
    matrix = session_client(owner).get(CURRENT).json()["approval_matrix"]
    assert (matrix["release"], matrix["reclaim"]) == ("none", "none")


def test_a_retry_budget_cannot_be_freed_from_approval(owner, session_client):
    response = patch(
        session_client(owner),
        1,
        approval_matrix={"retry": "none"},
        rationale="retry for ever",
    )

    assert response.status_code == 400
    assert "risky actions only" in response.json()["errors"][0]["detail"]


def test_patching_a_version_that_is_no_longer_current_is_a_conflict(owner, session_client):
    policy_set(max_auto_retries=2)

    response = patch(session_client(owner), 1, allow_auto_touch=True, rationale="stale view")

    assert response.status_code == 409
    assert response.json()["type"].endswith("/stale-policy-version")
    assert response.json()["current_version"] == 2
    assert WorkerPolicy.objects.count() == 2


@pytest.mark.parametrize("role", ["reviewer", "viewer"])
def test_only_the_owner_changes_the_policy(role, request, session_client):
    person = request.getfixturevalue(role)

    response = patch(session_client(person), 1, max_auto_retries=2, rationale="mine")

    assert response.status_code == 403
    assert WorkerPolicy.objects.count() == 1


def test_a_worker_cannot_change_the_policy(worker_client):
    response = patch(worker_client, 1, max_auto_retries=5, rationale="more retries please")

    assert response.status_code == 403


def test_decision_records_are_listed_newest_first(owner, session_client):
    policy_set(max_auto_retries=2)
    policy_set(max_auto_retries=3)

    body = session_client(owner).get("/api/v1/policy-decisions").json()

    assert [d["policy_after"] for d in body["results"]] == [3, 2]
