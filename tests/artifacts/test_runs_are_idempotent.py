"""The check task is safe to run twice: a run starts only by taking the check from pending
(or from a running whose worker was lost), and a final check is left alone."""

from datetime import timedelta

import pytest
from django.utils import timezone

from artifacts.models import ArtifactGateCheck
from artifacts.services import artifact_check_run
from repairs.models import Gate, RepairEvent

pytestmark = pytest.mark.django_db


def test_running_a_final_check_again_changes_nothing(job, checked, artifact_server):
    artifact_server.expect_request("/index.html").respond_with_data("ok")
    check = checked(job, artifact_server.url_for("/index.html"))
    requests_before = len(artifact_server.log)

    assert artifact_check_run(check_id=check.pk) is None

    again = ArtifactGateCheck.objects.get(pk=check.pk)
    assert (again.status, again.attempts, again.finished_at) == (
        "passed",
        1,
        check.finished_at,
    )
    assert len(artifact_server.log) == requests_before, "no URL fetched twice"
    assert RepairEvent.objects.filter(gate=Gate.ARTIFACT_GUARD).count() == 1


def test_a_check_running_elsewhere_is_not_started_again(job, submit, artifact_server):
    body = submit(job, artifact_server.url_for("/index.html"))
    ArtifactGateCheck.objects.filter(pk=body["id"]).update(
        status="running", started_at=timezone.now(), attempts=1
    )

    assert artifact_check_run(check_id=body["id"]) is None
    assert artifact_server.log == []


def test_a_check_stuck_in_running_past_the_stale_time_is_run_again(
    job, submit, artifact_server, settings
):
    settings.ARTIFACT_CHECK_STALE_SECONDS = 60
    artifact_server.expect_request("/index.html").respond_with_data("ok")
    body = submit(job, artifact_server.url_for("/index.html"))
    ArtifactGateCheck.objects.filter(pk=body["id"]).update(
        status="running", started_at=timezone.now() - timedelta(minutes=5), attempts=1
    )

    check = artifact_check_run(check_id=body["id"])

    assert check is not None and check.status == "passed"
    assert ArtifactGateCheck.objects.get(pk=body["id"]).attempts == 2


def test_a_check_whose_worker_was_lost_too_often_ends_in_error(
    job, submit, artifact_server, settings
):
    settings.ARTIFACT_CHECK_MAX_ATTEMPTS = 3
    body = submit(job, artifact_server.url_for("/index.html"))
    ArtifactGateCheck.objects.filter(pk=body["id"]).update(
        status="running", started_at=timezone.now() - timedelta(hours=2), attempts=3
    )

    check = artifact_check_run(check_id=body["id"])

    assert check is not None and check.status == "error"
    assert "gave up after 3 attempts" in check.reason
    assert artifact_server.log == []


def test_a_late_verdict_from_a_run_that_was_taken_over_is_dropped(
    job, submit, artifact_server, settings, monkeypatch
):
    """The first run's worker looked lost, a second run took the check over and finished;
    when the first run finally finishes, its verdict is not recorded."""
    import artifacts.services as services

    artifact_server.expect_request("/index.html").respond_with_data("ok")
    body = submit(job, artifact_server.url_for("/index.html"))
    real_fetch_all = services.fetch_all

    def taken_over_meanwhile(*args, **kwargs):
        evidence = real_fetch_all(*args, **kwargs)
        ArtifactGateCheck.objects.filter(pk=body["id"]).update(attempts=2)
        return evidence

    monkeypatch.setattr(services, "fetch_all", taken_over_meanwhile)

    assert artifact_check_run(check_id=body["id"]) is None
    assert ArtifactGateCheck.objects.get(pk=body["id"]).status == "running"
    assert not RepairEvent.objects.filter(gate=Gate.ARTIFACT_GUARD).exists()


def test_an_unknown_check_id_is_a_no_op():
    assert artifact_check_run(check_id=987654321) is None
