"""A needs_approval verdict opens a self-heal request the approving role decides, once."""

import base64
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from notifications.models import OwnerReport
from repairs.models import SelfHealRequest
from repairs.services import self_heal_requests_expire
from repairs.tasks import self_heal_requests_sweep
from tests.factories import WorkerFactory, event_body, issue_token, policy_set

EVENTS = "/api/v1/worker-repair-events"
REQUESTS = "/api/v1/self-heal-requests"

pytestmark = pytest.mark.django_db


def escalate(client, **fields) -> int:
    body = client.post(EVENTS, event_body(action="release", **fields), format="json").json()
    assert body["verdict"]["decision"] == "needs_approval"
    return body["self_heal_request"]


def test_an_escalated_action_opens_a_pending_request_with_an_expiry(worker_client, worker):
    request_id = escalate(worker_client)

    request = SelfHealRequest.objects.get(pk=request_id)
    assert request.status == "pending"
    assert request.worker == worker
    assert request.approver_role == "risk_reviewer"
    assert timedelta(hours=23) < request.expires_at - timezone.now() <= timedelta(hours=24)


def test_the_approving_role_gets_an_owner_report(worker_client):
    request_id = escalate(worker_client)

    report = OwnerReport.objects.get(source="self_heal.pending")
    assert report.role == "risk_reviewer"
    assert f"#{request_id}" in report.next_step


def test_the_worker_polls_its_request(worker_client):
    request_id = escalate(worker_client)

    response = worker_client.get(f"{REQUESTS}/{request_id}")

    assert response.status_code == 200
    assert response.json()["status"] == "pending"
    assert response.json()["action"] == "release"


def test_another_worker_cannot_see_the_request(worker_client):
    request_id = escalate(worker_client)
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token(WorkerFactory())}")

    assert other.get(f"{REQUESTS}/{request_id}").status_code == 404
    assert other.get(REQUESTS).json()["results"] == []


def test_the_risk_reviewer_approves(worker_client, reviewer, session_client):
    request_id = escalate(worker_client)

    response = session_client(reviewer).post(
        f"{REQUESTS}/{request_id}/approve", {"note": "ok"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "approved"
    assert response.json()["decided_by"] == reviewer.username
    assert worker_client.get(f"{REQUESTS}/{request_id}").json()["status"] == "approved"
    assert OwnerReport.objects.filter(source="self_heal.decided").exists()


def test_a_reject_needs_a_note(worker_client, reviewer, session_client):
    request_id = escalate(worker_client)
    client = session_client(reviewer)

    refused = client.post(f"{REQUESTS}/{request_id}/reject", {}, format="json")
    rejected = client.post(
        f"{REQUESTS}/{request_id}/reject", {"note": "release loses work"}, format="json"
    )

    assert refused.status_code == 400
    assert refused.json()["errors"][0]["pointer"] == "#/note"
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["note"] == "release loses work"


def test_the_wrong_role_is_refused_with_403(worker_client, owner, session_client):
    request_id = escalate(worker_client)  # the interim matrix sends release to the reviewer

    response = session_client(owner).post(f"{REQUESTS}/{request_id}/approve")

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert "risk_reviewer" in response.json()["detail"]
    assert SelfHealRequest.objects.get(pk=request_id).status == "pending"


def test_the_matrix_decides_which_role_approves(worker_client, owner, session_client):
    matrix = {"release": "pls_owner"}
    policy_set(approval_matrix=matrix)
    request_id = escalate(worker_client)

    response = session_client(owner).post(f"{REQUESTS}/{request_id}/approve")

    assert response.status_code == 200


def test_a_viewer_cannot_decide(worker_client, viewer, session_client):
    request_id = escalate(worker_client)

    response = session_client(viewer).post(f"{REQUESTS}/{request_id}/approve")

    assert response.status_code == 403


def test_a_worker_cannot_approve_even_another_workers_request(worker_client):
    request_id = escalate(worker_client)
    colleague = WorkerFactory()
    colleague.user.groups.add(Group.objects.get(name="risk_reviewer"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token(colleague)}")

    response = client.post(f"{REQUESTS}/{request_id}/approve")

    # It cannot even see another worker's request.
    assert response.status_code in (403, 404)
    assert SelfHealRequest.objects.get(pk=request_id).status == "pending"


def test_nobody_approves_their_own_request(worker_client, worker):
    request_id = escalate(worker_client)
    # Even a worker account that was (wrongly) given the approving role.
    worker.user.groups.add(Group.objects.get(name="risk_reviewer"))

    response = worker_client.post(f"{REQUESTS}/{request_id}/approve")

    assert response.status_code == 403
    assert response.json()["type"].endswith("/not-allowed")
    assert "own request" in response.json()["detail"]
    assert SelfHealRequest.objects.get(pk=request_id).status == "pending"


def test_deciding_twice_is_a_conflict(worker_client, reviewer, session_client):
    request_id = escalate(worker_client)
    client = session_client(reviewer)
    client.post(f"{REQUESTS}/{request_id}/approve")

    again = client.post(
        f"{REQUESTS}/{request_id}/reject", {"note": "changed my mind"}, format="json"
    )

    assert again.status_code == 409
    assert again.json()["type"].endswith("/request-already-decided")
    assert again.json()["status"] == 409
    assert again.json()["current_status"] == "approved"
    assert SelfHealRequest.objects.get(pk=request_id).status == "approved"


def test_deciding_after_expiry_is_refused_and_records_the_expiry(
    worker_client, reviewer, session_client
):
    request_id = escalate(worker_client)
    SelfHealRequest.objects.filter(pk=request_id).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    response = session_client(reviewer).post(f"{REQUESTS}/{request_id}/approve")

    assert response.status_code == 409
    assert response.json()["type"].endswith("/request-expired")
    assert SelfHealRequest.objects.get(pk=request_id).status == "expired"


def test_the_sweep_expires_stale_requests_and_tells_the_workers_team(worker_client, worker):
    stale = escalate(worker_client, job="JOB-1")
    fresh = escalate(worker_client, job="JOB-2")
    SelfHealRequest.objects.filter(pk=stale).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )

    self_heal_requests_sweep.apply().get()  # what beat runs every minute

    assert SelfHealRequest.objects.get(pk=stale).status == "expired"
    assert SelfHealRequest.objects.get(pk=fresh).status == "pending"
    report = OwnerReport.objects.get(source="self_heal.expired")
    assert (report.team, report.worker) == (worker.team, worker.name)
    assert self_heal_requests_expire() == 0


def test_beat_runs_the_sweep_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["self-heal-requests-sweep"]

    assert entry["task"] == self_heal_requests_sweep.name
    assert entry["schedule"] == 60.0


def test_the_policy_sets_the_approval_ttl(worker_client):
    policy_set(approval_ttl=timedelta(minutes=30))

    request = SelfHealRequest.objects.get(pk=escalate(worker_client))

    assert request.expires_at - request.created_at < timedelta(minutes=31)


def test_a_person_decides_from_a_script_with_basic_auth(worker_client, reviewer):
    request_id = escalate(worker_client)
    script = APIClient()
    script.credentials(
        HTTP_AUTHORIZATION="Basic "
        + base64.b64encode(f"{reviewer.username}:correct-horse-battery".encode()).decode()
    )

    response = script.post(f"{REQUESTS}/{request_id}/approve", {"note": "ok"}, format="json")

    assert response.status_code == 200
    assert response.json()["decided_by"] == reviewer.username
