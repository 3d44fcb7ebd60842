"""The stuck-claim watchdog: a lease that expired without a heartbeat becomes a stuck claim
(event with the last progress as evidence, the job stuck, its worker in error, the owner
told), recorded once however many watchdogs run."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from notifications.models import OwnerReport
from repairs.models import Job, RepairEvent, Worker
from repairs.services import job_heartbeat, job_stuck_claims_detect
from repairs.tasks import stuck_claims_sweep
from tests.factories import WorkerFactory, job_claimed_by


@pytest.mark.django_db
def test_an_expired_lease_becomes_a_stuck_claim_event_with_the_last_progress(worker):
    job = job_claimed_by(worker, external_id="PLS-1", priority="high")
    job_heartbeat(worker=worker, external_id="PLS-1", progress="uploading the build artifact")
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))

    assert job_stuck_claims_detect() == 1

    job.refresh_from_db()
    assert job.status == "stuck"
    assert job.stuck_at is not None
    event = RepairEvent.objects.get(gate="stuck_claim", job=job)
    assert (event.error_class, event.worker, event.job_ref) == ("lease_expired", worker, "PLS-1")
    assert "uploading the build artifact" in event.evidence
    assert Worker.objects.get(pk=worker.pk).status == "error"
    report = OwnerReport.objects.get(source="job.stuck")
    assert (report.worker, report.task_id, report.status) == (worker.name, "PLS-1", "critical")
    assert f"#{event.pk}" in report.next_step
    assert report.dedup_key == f"job.stuck:{job.pk}:{job.stuck_at.isoformat()}"


@pytest.mark.django_db
def test_a_lower_priority_stuck_claim_is_a_warning(worker):
    job_claimed_by(worker, external_id="PLS-1", priority="low", lease_expired=True)

    job_stuck_claims_detect()

    assert OwnerReport.objects.get(source="job.stuck").status == "warning"


@pytest.mark.django_db
def test_a_lease_still_running_is_left_alone(worker):
    job_claimed_by(worker, external_id="PLS-1")

    assert job_stuck_claims_detect() == 0
    assert Job.objects.get(external_id="PLS-1").status == "claimed"
    assert not RepairEvent.objects.exists()


@pytest.mark.django_db
def test_the_watchdog_run_twice_records_the_stuck_claim_once(worker):
    job_claimed_by(worker, external_id="PLS-1", lease_expired=True)

    stuck_claims_sweep()
    stuck_claims_sweep()

    assert RepairEvent.objects.filter(gate="stuck_claim", error_class="lease_expired").count() == 1
    assert OwnerReport.objects.filter(source="job.stuck").count() == 1


@pytest.mark.django_db
def test_a_paused_worker_stays_paused_when_its_claim_gets_stuck(worker):
    job_claimed_by(worker, external_id="PLS-1", lease_expired=True)
    Worker.objects.filter(pk=worker.pk).update(status="paused", paused_reason="budget")

    job_stuck_claims_detect()

    assert Worker.objects.get(pk=worker.pk).status == "paused"


@pytest.mark.django_db
def test_the_watchdog_is_on_the_beat_schedule_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["stuck-claims-sweep"]

    assert entry["task"] == "repairs.tasks.stuck_claims_sweep"
    assert entry["schedule"] == 60.0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_watchdogs_record_each_stuck_claim_once():
    workers = [WorkerFactory() for _ in range(5)]
    for index, worker in enumerate(workers * 4):
        job_claimed_by(worker, external_id=f"PLS-{index}", lease_expired=True)
    start = threading.Barrier(4)
    marked: list[int] = []

    def watchdog() -> None:
        try:
            start.wait()
            marked.append(job_stuck_claims_detect())
        finally:
            connection.close()

    threads = [threading.Thread(target=watchdog) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(marked) == 20
    assert RepairEvent.objects.filter(error_class="lease_expired", gate="stuck_claim").count() == 20
    assert OwnerReport.objects.filter(source="job.stuck").count() == 20


@pytest.mark.django_db
def test_a_claim_whose_holder_heartbeats_after_the_lease_ran_out_is_not_marked_stuck(worker):
    # Between the expiry and the watchdog's next run the holder is still the holder.
    job = job_claimed_by(worker, external_id="PLS-1", lease_expired=True)
    job_heartbeat(worker=worker, external_id="PLS-1", progress="back")

    assert job_stuck_claims_detect() == 0
    assert Job.objects.get(pk=job.pk).status == "claimed"
