"""Release and reclaim go through the policy ladder like any worker action: in the interim
policy both need approval (a self-heal request the worker polls, carried out when approved);
a protected job is denied; the runbook's release-then-claim resolves the stuck claim."""

import pytest
from django.utils import timezone

from learning.models import LearningMemoryUpdate
from notifications.models import OwnerReport
from policies import ladder
from repairs.models import Job, RepairEvent, SelfHealRequest, Worker
from repairs.services import job_stuck_claims_detect
from tests.factories import JobFactory, WorkerFactory, client_for, job_claimed_by, policy_set

pytestmark = pytest.mark.django_db
REQUESTS = "/api/v1/self-heal-requests"


def release(client, external_id: str, **body):
    return client.post(f"/api/v1/jobs/{external_id}/release", body, format="json")


def reclaim(client, external_id: str, **body):
    return client.post(f"/api/v1/jobs/{external_id}/reclaim", body, format="json")


def approve(reviewer, session_client, request_id: int):
    response = session_client(reviewer).post(f"{REQUESTS}/{request_id}/approve", {}, format="json")
    assert response.status_code == 200, response.content
    return response


def stuck(worker: Worker, external_id: str = "PLS-1", progress: str = "") -> Job:
    job = job_claimed_by(worker, external_id=external_id, lease_expired=True)
    if progress:
        Job.objects.filter(pk=job.pk).update(progress=progress)
    job_stuck_claims_detect()
    job.refresh_from_db()
    assert job.status == "stuck"
    return job


def test_in_the_interim_policy_a_release_needs_approval_and_opens_a_request(worker_client, worker):
    job_claimed_by(worker, external_id="PLS-1")

    response = release(worker_client, "PLS-1", message="the repo is gone")

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["done"] is False
    assert body["verdict"]["decision"] == "needs_approval"
    assert body["verdict"]["approver_role"] == "risk_reviewer"
    heal = SelfHealRequest.objects.get(pk=body["self_heal_request"])
    assert (heal.action, heal.target, heal.status) == ("release", "PLS-1", "pending")
    assert heal.event.gate == "stuck_claim"
    assert Job.objects.get(external_id="PLS-1").claimed_by == worker  # not released yet
    assert OwnerReport.objects.filter(source="self_heal.pending").exists()


def test_asking_again_while_the_request_waits_returns_the_same_request(worker_client, worker):
    job_claimed_by(worker, external_id="PLS-1")
    first = release(worker_client, "PLS-1").json()

    again = release(worker_client, "PLS-1")

    assert again.status_code == 202
    assert again.json()["self_heal_request"] == first["self_heal_request"]
    assert SelfHealRequest.objects.count() == 1


def test_an_approved_release_is_carried_out_with_the_approval(
    worker_client, worker, reviewer, session_client
):
    job_claimed_by(worker, external_id="PLS-1")
    request_id = release(worker_client, "PLS-1").json()["self_heal_request"]

    approve(reviewer, session_client, request_id)

    job = Job.objects.get(external_id="PLS-1")
    assert (job.status, job.claimed_by) == ("open", None)
    assert Worker.objects.get(pk=worker.pk).status == "idle"
    assert worker_client.get(f"{REQUESTS}/{request_id}").json()["status"] == "approved"


def test_a_rejected_release_leaves_the_job_with_its_holder(
    worker_client, worker, reviewer, session_client
):
    job_claimed_by(worker, external_id="PLS-1")
    request_id = release(worker_client, "PLS-1").json()["self_heal_request"]

    session_client(reviewer).post(f"{REQUESTS}/{request_id}/reject", {"note": "no"}, format="json")

    assert Job.objects.get(external_id="PLS-1").claimed_by == worker


def test_an_approval_for_a_job_that_moved_on_does_nothing_and_says_why(
    worker_client, worker, reviewer, session_client
):
    job = job_claimed_by(worker, external_id="PLS-1")
    request_id = release(worker_client, "PLS-1").json()["self_heal_request"]
    other = WorkerFactory()
    Job.objects.filter(pk=job.pk).update(claimed_by=other)

    approve(reviewer, session_client, request_id)

    assert Job.objects.get(pk=job.pk).claimed_by == other
    report = OwnerReport.objects.get(source="job.self_heal_not_carried_out")
    assert "no longer holds" in report.progress


def test_a_release_of_a_protected_job_is_denied_with_the_verdict(worker_client, worker):
    policy_set(protected_resources=[*ladder.protected_floor(), "pls-*"])
    job_claimed_by(worker, external_id="PLS-1")

    response = release(worker_client, "PLS-1")

    assert response.status_code == 403
    problem = response.json()
    assert problem["type"].endswith("/policy-denied")
    assert problem["verdict"]["decision"] == "denied"
    assert problem["verdict"]["rung"] == "L3"
    event = RepairEvent.objects.get(pk=problem["event"])
    assert (event.action, event.decision) == ("release", "denied")
    assert Job.objects.get(external_id="PLS-1").claimed_by == worker


def test_the_approver_named_in_the_policy_gets_the_request(worker_client, worker):
    policy_set(approval_matrix={"release": "pls_owner", "reclaim": "pls_owner"})
    job_claimed_by(worker, external_id="PLS-1")

    body = release(worker_client, "PLS-1").json()

    assert body["verdict"]["approver_role"] == "pls_owner"
    assert SelfHealRequest.objects.get(pk=body["self_heal_request"]).approver_role == "pls_owner"


def test_only_the_holder_releases(worker_client):
    job_claimed_by(WorkerFactory(), external_id="PLS-1")

    response = release(worker_client, "PLS-1")

    assert response.status_code == 403
    assert response.json()["type"].endswith("/not-the-holder")
    assert not RepairEvent.objects.exists()


def test_an_open_job_has_nothing_to_release(worker_client):
    JobFactory(external_id="PLS-1")

    assert release(worker_client, "PLS-1").status_code == 403


def test_another_worker_asks_to_reclaim_a_stuck_job_and_gets_it_when_approved(
    reviewer, session_client
):
    first, second = WorkerFactory(), WorkerFactory()
    stuck(first, progress="compiling")
    client = client_for(second)

    response = reclaim(client, "PLS-1", message="taking over")

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["verdict"]["decision"] == "needs_approval"
    assert "compiling" in RepairEvent.objects.get(pk=body["event"]).evidence
    approve(reviewer, session_client, body["self_heal_request"])
    job = Job.objects.get(external_id="PLS-1")
    assert (job.status, job.claimed_by, job.attempts) == ("claimed", second, 2)
    assert job.lease_expires_at > timezone.now()
    assert Worker.objects.get(pk=second.pk).status == "running"
    assert Worker.objects.get(pk=first.pk).status == "idle"


def test_a_reclaim_resolves_the_stuck_claim_for_the_scorecard_and_the_learning_memory(
    reviewer, session_client
):
    first, second = WorkerFactory(), WorkerFactory()
    job = stuck(first)
    request_id = reclaim(client_for(second), "PLS-1").json()["self_heal_request"]

    approve(reviewer, session_client, request_id)

    lease_expired = RepairEvent.objects.get(job=job, error_class="lease_expired", action="")
    assert lease_expired.outcome == "resolved"
    assert lease_expired.resolved_by == second.user
    assert lease_expired.resolved_at >= lease_expired.occurred_at
    assert LearningMemoryUpdate.objects.filter(error_class="lease_expired").exists()


def test_a_job_whose_lease_runs_cannot_be_reclaimed(worker_client):
    job_claimed_by(WorkerFactory(), external_id="PLS-1")

    response = reclaim(worker_client, "PLS-1")

    assert response.status_code == 409
    assert not RepairEvent.objects.exists()


def test_an_open_job_is_claimed_not_reclaimed(worker_client):
    JobFactory(external_id="PLS-1")

    response = reclaim(worker_client, "PLS-1")

    assert response.status_code == 409
    assert "claim it" in response.json()["detail"]


def test_an_expired_lease_the_watchdog_has_not_seen_yet_can_be_reclaimed(worker_client):
    job_claimed_by(WorkerFactory(), external_id="PLS-1", lease_expired=True)

    assert reclaim(worker_client, "PLS-1").status_code == 202


def test_the_runbook_release_then_claim_again_resolves_the_stuck_claim(
    worker_client, worker, reviewer, session_client
):
    job = stuck(worker, progress="waiting for the context fetch")
    assert Worker.objects.get(pk=worker.pk).status == "error"

    request_id = release(worker_client, "PLS-1").json()["self_heal_request"]
    approve(reviewer, session_client, request_id)
    assert Job.objects.get(pk=job.pk).status == "open"
    response = worker_client.post("/api/v1/jobs/PLS-1/claim")

    assert response.status_code == 200, response.content
    job.refresh_from_db()
    assert (job.status, job.claimed_by, job.stuck_at) == ("claimed", worker, None)
    assert Worker.objects.get(pk=worker.pk).status == "running"
    events = RepairEvent.objects.filter(job=job, gate="stuck_claim")
    assert events.count() == 2  # the lease expiry and the release request
    assert set(events.values_list("outcome", flat=True)) == {"resolved"}
    assert set(events.values_list("resolved_by", flat=True)) == {worker.user.pk}
    lesson = LearningMemoryUpdate.objects.filter(error_class="lease_expired").first()
    assert lesson is not None
    assert lesson.fix == "release, then re-claim"


def test_a_released_stuck_job_picked_by_claim_next_resolves_it_too(
    worker_client, worker, reviewer, session_client
):
    job = stuck(worker)
    approve(reviewer, session_client, release(worker_client, "PLS-1").json()["self_heal_request"])
    other = client_for(WorkerFactory())

    assert other.post("/api/v1/jobs/claim-next").json()["external_id"] == "PLS-1"
    assert not RepairEvent.objects.filter(job=job, gate="stuck_claim", outcome="").exists()


@pytest.fixture
def a_policy_allowing_release_and_reclaim(db):
    """The owner's answer to the third policy question frees both from approval."""
    return policy_set(approval_matrix={"release": "none", "reclaim": "none"})


def test_an_allowed_release_happens_at_once(
    worker_client, worker, a_policy_allowing_release_and_reclaim
):
    stuck(worker)

    response = release(worker_client, "PLS-1")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["done"], body["self_heal_request"]) == (True, None)
    assert (body["job"]["status"], body["job"]["holder"]) == ("open", None)
    assert Worker.objects.get(pk=worker.pk).status == "idle"
    assert not SelfHealRequest.objects.exists()


def test_an_allowed_reclaim_hands_the_job_over_at_once(a_policy_allowing_release_and_reclaim):
    first, second = WorkerFactory(), WorkerFactory()
    job = stuck(first)

    response = reclaim(client_for(second), "PLS-1")

    assert response.status_code == 200, response.content
    assert response.json()["job"]["holder"] == second.name
    job.refresh_from_db()
    assert (job.status, job.claimed_by, job.stuck_at) == ("claimed", second, None)
    assert not RepairEvent.objects.filter(job=job, gate="stuck_claim", outcome="").exists()


def test_a_paused_worker_cannot_reclaim(worker_client, worker):
    stuck(WorkerFactory())
    Worker.objects.filter(pk=worker.pk).update(status="paused", paused_reason="budget")

    response = reclaim(worker_client, "PLS-1")

    assert response.status_code == 423
    assert not SelfHealRequest.objects.exists()


def test_an_outcome_already_recorded_does_not_block_the_recovery(
    worker_client, worker, owner, a_policy_allowing_release_and_reclaim
):
    from repairs.services import repair_event_resolve

    job = stuck(worker)
    expired = RepairEvent.objects.get(job=job, error_class="lease_expired", action="")
    repair_event_resolve(event=expired, outcome="failed", by=owner)
    release(worker_client, "PLS-1")

    assert worker_client.post("/api/v1/jobs/PLS-1/claim").status_code == 200
    assert RepairEvent.objects.get(pk=expired.pk).outcome == "failed"


def test_a_release_waiting_for_approval_happens_at_once_once_the_policy_frees_it(
    worker_client, worker
):
    stuck(worker)
    assert release(worker_client, "PLS-1").status_code == 202
    policy_set(approval_matrix={"release": "none"})

    response = release(worker_client, "PLS-1")

    assert response.status_code == 200, response.content
    assert response.json()["job"]["status"] == "open"
