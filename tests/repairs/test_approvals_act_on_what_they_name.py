"""An approval acts on exactly what it names (issue 12, finding 1).

Every resource an action touches is judged, the job and the target alike, and the verdict is
the strictest of them. A job-scoped action (release, reclaim, touch, retry) touches its job, so
a target naming anything else is refused. The self-heal request records every resource it
will touch; carrying it out touches nothing else; a request for one resource never stands in
for the judgement of another.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import OwnerReport
from repairs.models import Job, RepairEvent, SelfHealRequest
from tests.factories import event_body, job_claimed_by

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/worker-repair-events"
REQUESTS = "/api/v1/self-heal-requests"


def approve(reviewer, session_client, request_id: int):
    response = session_client(reviewer).post(f"{REQUESTS}/{request_id}/approve", {}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def legacy_decoy_request(worker, *, job: str, target: str) -> SelfHealRequest:
    """A pending request as the console opened it before this fix: an event about ``job``
    whose request names only ``target``."""
    event = RepairEvent.objects.create(
        worker=worker,
        job_ref=job,
        gate="stuck_claim",
        error_class="release_requested",
        fingerprint="0" * 64,
        action="release",
        target=target,
        decision="needs_approval",
        verdict={
            "decision": "needs_approval",
            "action": "release",
            "rung": "L2",
            "reason": "release is a risky action and needs approval.",
            "retries_left": None,
            "approver_role": "risk_reviewer",
        },
        occurred_at=timezone.now(),
    )
    return SelfHealRequest.objects.create(
        event=event,
        worker=worker,
        action="release",
        target=target,
        approver_role="risk_reviewer",
        requested_by=worker.user,
        expires_at=timezone.now() + timedelta(hours=1),
    )


def test_a_decoy_target_cannot_release_a_protected_job(
    worker_client, worker, reviewer, session_client
):
    """Finding 1 as reported: the release of orders-db is denied, so the worker names a
    harmless target instead and asks through the event API."""
    job_claimed_by(worker, external_id="orders-db")
    assert worker_client.post("/api/v1/jobs/orders-db/release").status_code == 403

    decoy = worker_client.post(
        EVENTS,
        event_body(job="orders-db", action="release", target="cache-node-7"),
        format="json",
    )

    assert decoy.status_code == 400, decoy.content
    assert decoy["Content-Type"] == "application/problem+json"
    problem = decoy.json()
    assert problem["type"].endswith("/target-not-the-job")
    assert "cache-node-7" in problem["detail"] and "orders-db" in problem["detail"]
    assert not SelfHealRequest.objects.filter(target="cache-node-7").exists()
    # Nothing to approve, and the job's own release is still judged as the job.
    assert worker_client.post("/api/v1/jobs/orders-db/release").status_code == 403
    assert Job.objects.get(external_id="orders-db").claimed_by == worker


@pytest.mark.parametrize("action", ["release", "reclaim", "touch", "retry"])
def test_a_job_scoped_action_may_not_name_another_target(worker_client, action):
    response = worker_client.post(
        EVENTS, event_body(job="JOB-1", action=action, target="cache-node-7"), format="json"
    )

    assert response.status_code == 400
    assert response.json()["type"].endswith("/target-not-the-job")
    assert not RepairEvent.objects.exists()


def test_a_job_scoped_action_may_name_its_own_job_as_the_target(worker_client):
    response = worker_client.post(
        EVENTS, event_body(job="JOB-1", action="release", target="JOB-1"), format="json"
    )

    assert response.status_code == 201, response.content
    request = SelfHealRequest.objects.get(pk=response.json()["self_heal_request"])
    assert request.resources == ["JOB-1"]


def test_a_risky_action_is_judged_on_its_job_as_well_as_its_target(worker_client):
    response = worker_client.post(
        EVENTS,
        event_body(job="orders-db", action="restart_session", target="cache-node-7"),
        format="json",
    )

    body = response.json()
    assert body["verdict"]["decision"] == "denied"
    assert "orders-db" in body["verdict"]["reason"]
    assert body["self_heal_request"] is None


def test_the_request_records_and_shows_every_resource_it_will_touch(
    worker_client, reviewer, session_client, client
):
    body = worker_client.post(
        EVENTS,
        event_body(job="JOB-1", action="restart_session", target="cache-node-7"),
        format="json",
    ).json()

    request = SelfHealRequest.objects.get(pk=body["self_heal_request"])
    assert request.resources == ["JOB-1", "cache-node-7"]
    shown = session_client(reviewer).get(f"{REQUESTS}/{request.pk}").json()
    assert shown["resources"] == ["JOB-1", "cache-node-7"]
    report = OwnerReport.objects.get(source="self_heal.pending")
    assert "JOB-1" in report.title and "cache-node-7" in report.title
    client.force_login(reviewer)
    page = client.get(f"/admin/repairs/selfhealrequest/{request.pk}/change/").content.decode()
    assert "JOB-1, cache-node-7" in page


def test_a_pending_request_for_another_resource_never_stands_in_for_the_jobs_judgement(
    worker_client, worker
):
    job_claimed_by(worker, external_id="orders-db")
    decoy = legacy_decoy_request(worker, job="orders-db", target="cache-node-7")

    response = worker_client.post("/api/v1/jobs/orders-db/release")

    assert response.status_code == 403, response.content
    assert response.json()["verdict"]["decision"] == "denied"
    assert response.json().get("self_heal_request") != decoy.pk


def test_an_approved_decoy_request_releases_nothing_it_did_not_name(
    worker, reviewer, session_client
):
    job_claimed_by(worker, external_id="orders-db")
    decoy = legacy_decoy_request(worker, job="orders-db", target="cache-node-7")

    approve(reviewer, session_client, decoy.pk)

    assert Job.objects.get(external_id="orders-db").claimed_by == worker
    report = OwnerReport.objects.get(source="job.self_heal_not_carried_out")
    assert "orders-db" in report.progress


def test_a_matching_pending_request_is_still_returned_when_asked_again(worker_client, worker):
    job_claimed_by(worker, external_id="PLS-1")
    first = worker_client.post("/api/v1/jobs/PLS-1/release").json()

    again = worker_client.post("/api/v1/jobs/PLS-1/release")

    assert again.status_code == 202
    assert again.json()["self_heal_request"] == first["self_heal_request"]
