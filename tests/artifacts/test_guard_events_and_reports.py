"""A final check is recorded as an ``artifact_guard`` repair event for its worker and job;
one that did not pass also writes an owner report, in the same transaction."""

import pytest

from artifacts.models import ArtifactGateCheck
from artifacts.services import artifact_check_run
from notifications.models import OwnerReport
from policies.models import Proposal
from repairs.models import Gate, RepairEvent
from tests.factories import held_job

pytestmark = pytest.mark.django_db


def guard_events(check: ArtifactGateCheck) -> list[RepairEvent]:
    return list(RepairEvent.objects.filter(gate=Gate.ARTIFACT_GUARD, job=check.job))


def test_a_passed_check_is_recorded_and_never_raises_a_proposal(worker, checked, artifact_server):
    artifact_server.expect_request("/index.html").respond_with_data("ok")
    checks = [checked(held_job(worker), artifact_server.url_for("/index.html")) for _ in range(3)]

    for check in checks:
        (event,) = guard_events(check)
        assert event.worker == worker
        assert event.job_ref == check.job.external_id
        assert event.error_class == "artifact_passed"
        assert f"Artifact check #{check.pk} passed" in event.message
        assert artifact_server.url_for("/index.html") in event.evidence
    assert not Proposal.objects.filter(kind=Proposal.Kind.REPAIR).exists()
    assert not OwnerReport.objects.filter(source__startswith="artifact_guard").exists()


def test_a_failed_check_is_recorded_with_its_error_class_and_the_owner_is_told(
    worker, job, checked, artifact_server
):
    artifact_server.expect_request("/index.html").respond_with_data("gone", status=404)

    check = checked(job, artifact_server.url_for("/index.html"))

    (event,) = guard_events(check)
    assert event.error_class == "artifact_http_404"
    assert "the primary URL on 127.0.0.1 answered HTTP 404" in event.message
    assert "FAILED: answered HTTP 404" in event.evidence
    (report,) = OwnerReport.objects.filter(source="artifact_guard.failed")
    assert report.status == "warning"
    assert report.role == "pls_owner"
    assert report.dedup_key == f"artifact_guard.failed:{check.pk}"
    assert report.worker == worker.name
    assert report.task_id == job.external_id
    assert "answered HTTP 404" in report.progress


def test_a_blocked_address_is_recorded_under_its_own_error_class(job, checked, settings):
    settings.ARTIFACT_ALLOWED_HOSTS = []

    check = checked(job, "http://169.254.169.254/latest/meta-data/")

    (event,) = guard_events(check)
    assert event.error_class == "artifact_blocked_address"


def test_an_unexpected_exception_ends_the_check_in_error_never_in_running(job, submit, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the fetcher")

    monkeypatch.setattr("artifacts.services.fetch_all", broken)
    body = submit(job, "https://artifacts.example.com/index.html")

    artifact_check_run(check_id=body["id"])

    check = ArtifactGateCheck.objects.get(pk=body["id"])
    assert check.status == ArtifactGateCheck.Status.ERROR
    assert "RuntimeError: a bug in the fetcher" in check.reason
    assert check.finished_at is not None
    (event,) = guard_events(check)
    assert event.error_class == "artifact_check_error"
    assert OwnerReport.objects.filter(dedup_key=f"artifact_guard.error:{check.pk}").exists()


def test_the_verdict_its_event_and_its_report_commit_together(
    job, submit, artifact_server, monkeypatch
):
    """If recording the event fails, the check is not left looking finished without it."""
    artifact_server.expect_request("/index.html").respond_with_data("gone", status=404)
    body = submit(job, artifact_server.url_for("/index.html"))

    def refuse(**kwargs):
        raise RuntimeError("the events table is unavailable")

    monkeypatch.setattr("artifacts.services.report_enqueue", refuse)
    with pytest.raises(RuntimeError):
        artifact_check_run(check_id=body["id"])

    check = ArtifactGateCheck.objects.get(pk=body["id"])
    assert check.status == ArtifactGateCheck.Status.RUNNING  # the sweep runs it again
    assert check.results == []
    assert not RepairEvent.objects.filter(gate=Gate.ARTIFACT_GUARD).exists()
