"""Repeated fingerprints raise one repair proposal, which humans decide."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from rest_framework.test import APIClient

from notifications.models import OwnerReport
from policies.models import PolicyDecision, Proposal, WorkerPolicy
from repairs.models import RepairEvent
from tests.factories import WorkerFactory, event_body, issue_token, policy_set

EVENTS = "/api/v1/worker-repair-events"


def report(client, **fields) -> dict:
    response = client.post(EVENTS, event_body(**fields), format="json")
    assert response.status_code == 201, response.content
    return response.json()


def client_for_new_worker() -> tuple[APIClient, str]:
    worker = WorkerFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token(worker)}")
    return client, worker.name


@pytest.mark.django_db
def test_the_second_repeat_raises_a_repair_proposal(worker_client, worker):
    first = report(worker_client, message="fetch of job 17 failed")
    second = report(worker_client, message="fetch of job 99 failed")

    assert first["proposal"] is None
    proposal = Proposal.objects.get(pk=second["proposal"])
    assert proposal.kind == "repair"
    assert proposal.status == "open"
    assert proposal.fingerprint == second["fingerprint"]
    assert proposal.occurrences == 2
    assert proposal.affected_workers == [worker.name]


@pytest.mark.django_db
def test_raising_a_proposal_records_a_repair_suggested_event_and_tells_the_owner(worker_client):
    report(worker_client)
    second = report(worker_client)

    suggested = RepairEvent.objects.get(gate="repair_suggested")
    assert suggested.proposal_id == second["proposal"]
    assert suggested.verdict["decision"] == "allowed"
    assert OwnerReport.objects.filter(source="proposal.created").count() == 1


@pytest.mark.django_db
def test_later_repeats_count_on_the_same_proposal_across_the_fleet(worker_client, worker):
    report(worker_client)
    first_id = report(worker_client)["proposal"]
    colleague, colleague_name = client_for_new_worker()

    later = report(colleague)

    assert later["proposal"] == first_id
    proposal = Proposal.objects.get(pk=first_id)
    assert proposal.occurrences == 3
    assert proposal.affected_workers == [worker.name, colleague_name]
    assert Proposal.objects.filter(kind="repair").count() == 1
    assert RepairEvent.objects.filter(gate="repair_suggested").count() == 1
    assert OwnerReport.objects.filter(source="proposal.created").count() == 1


@pytest.mark.django_db
def test_a_threshold_of_zero_raises_no_proposals(worker_client):
    policy_set(auto_proposal_threshold=0)
    for _ in range(3):
        assert report(worker_client)["proposal"] is None

    assert not Proposal.objects.filter(kind="repair").exists()


@pytest.mark.django_db
def test_the_threshold_comes_from_the_policy(worker_client):
    policy_set(auto_proposal_threshold=3)

    ids = [report(worker_client)["proposal"] for _ in range(3)]

    assert ids[:2] == [None, None]
    assert ids[2] is not None


@pytest.mark.django_db
def test_an_owner_adopts_a_repair_into_a_new_policy_version(worker_client, owner, session_client):
    report(worker_client)
    proposal_id = report(worker_client)["proposal"]

    response = session_client(owner).post(
        f"/api/v1/proposals/{proposal_id}/decide",
        {"decision": "adopt", "rationale": "known outage", "fix": "wait 60 s, then retry once"},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["policy_after"] == 2
    policy = WorkerPolicy.objects.get(version=2)
    assert policy.known_repairs[0]["fix"] == "wait 60 s, then retry once"
    assert policy.known_repairs[0]["proposal"] == proposal_id
    assert Proposal.objects.get(pk=proposal_id).status == "adopted"


@pytest.mark.django_db
def test_adopting_with_a_policy_change_applies_it(worker_client, owner, session_client):
    report(worker_client)
    proposal_id = report(worker_client)["proposal"]

    session_client(owner).post(
        f"/api/v1/proposals/{proposal_id}/decide",
        {"decision": "adopt", "rationale": "retry twice", "policy_change": {"max_auto_retries": 2}},
        format="json",
    )

    assert WorkerPolicy.objects.get(version=2).max_auto_retries == 2
    decision = PolicyDecision.objects.get(proposal_id=proposal_id)
    assert decision.changes["max_auto_retries"] == [1, 2]


@pytest.mark.django_db
def test_rejecting_leaves_the_policy_alone(worker_client, reviewer, session_client):
    report(worker_client)
    proposal_id = report(worker_client)["proposal"]

    response = session_client(reviewer).post(
        f"/api/v1/proposals/{proposal_id}/decide",
        {"decision": "reject", "rationale": "one-off outage"},
        format="json",
    )

    assert response.json()["decision"] == "reject"
    assert response.json()["policy_after"] is None
    assert WorkerPolicy.objects.count() == 1
    # The same burst does not raise it again at once.
    assert report(worker_client)["proposal"] is None


@pytest.mark.django_db
def test_a_decided_proposal_cannot_be_decided_again(worker_client, owner, session_client):
    report(worker_client)
    proposal_id = report(worker_client)["proposal"]
    client = session_client(owner)
    url = f"/api/v1/proposals/{proposal_id}/decide"
    client.post(url, {"decision": "reject", "rationale": "no"}, format="json")

    again = client.post(url, {"decision": "adopt", "rationale": "yes"}, format="json")

    assert again.status_code == 409
    assert again.json()["type"].endswith("/proposal-already-decided")


@pytest.mark.django_db
def test_a_deferred_proposal_stays_open_for_a_later_decision(worker_client, owner, session_client):
    report(worker_client)
    proposal_id = report(worker_client)["proposal"]
    client = session_client(owner)
    url = f"/api/v1/proposals/{proposal_id}/decide"

    deferred = client.post(url, {"decision": "defer", "rationale": "next week"}, format="json")
    later_repeat = report(worker_client)
    adopted = client.post(url, {"decision": "adopt", "rationale": "now"}, format="json")

    assert deferred.status_code == adopted.status_code == 200
    assert later_repeat["proposal"] == proposal_id
    assert PolicyDecision.objects.filter(proposal_id=proposal_id).count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["viewer", "worker"])
def test_viewers_and_workers_cannot_decide(role, worker_client, viewer, session_client):
    report(worker_client)
    proposal_id = report(worker_client)["proposal"]
    client = session_client(viewer) if role == "viewer" else worker_client

    response = client.post(
        f"/api/v1/proposals/{proposal_id}/decide",
        {"decision": "adopt", "rationale": "mine"},
        format="json",
    )

    assert response.status_code == 403
    assert Proposal.objects.get(pk=proposal_id).status == "open"


@pytest.mark.django_db
def test_a_failed_policy_change_leaves_no_decision_and_an_open_proposal(worker_client, owner):
    from policies.exceptions import InvalidPolicyChange
    from policies.services import proposal_decide

    report(worker_client)
    proposal = Proposal.objects.get(pk=report(worker_client)["proposal"])

    with pytest.raises(InvalidPolicyChange):
        proposal_decide(
            proposal=proposal,
            user=owner,
            decision="adopt",
            rationale="bad change",
            policy_change={"no_such_field": 1},
        )

    proposal.refresh_from_db()
    assert proposal.status == "open"
    assert not PolicyDecision.objects.exists()
    assert WorkerPolicy.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_ten_concurrent_repeats_raise_exactly_one_proposal():
    clients = [client_for_new_worker()[0] for _ in range(10)]
    report(clients[0])  # the first occurrence; the next ten are all repeats

    def repeat(client: APIClient) -> dict:
        try:
            return client.post(EVENTS, event_body(), format="json").json()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(repeat, clients))

    proposal = Proposal.objects.get(kind="repair")
    assert {a["proposal"] for a in answers} == {proposal.pk}
    assert proposal.occurrences == 11
    assert len(proposal.affected_workers) == 10
    assert RepairEvent.objects.filter(gate="repair_suggested").count() == 1
    assert OwnerReport.objects.filter(source="proposal.created").count() == 1
    assert sorted(a["repeat_count"] for a in answers) == list(range(2, 12))


@pytest.mark.django_db
def test_a_stored_change_with_a_duration_is_applied_in_seconds(owner, session_client):
    from datetime import timedelta

    proposal = Proposal.objects.create(
        kind="friction",
        title="Approvals expire overnight",
        policy_change={"approval_ttl": 3 * 86400},
    )

    response = session_client(owner).post(
        f"/api/v1/proposals/{proposal.pk}/decide",
        {"decision": "adopt", "rationale": "weekend cover", "fix": ""},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert WorkerPolicy.objects.get(version=2).approval_ttl == timedelta(days=3)
    assert response.json()["changes"] == {"approval_ttl": [86400, 259200]}
