"""A real Celery worker on Redis, consuming the ``artifacts`` queue with the threads pool as
in production, runs a submitted check end to end; the job then completes."""

import time

import pytest
from celery.contrib.testing.worker import start_worker

from artifacts.models import ArtifactGateCheck
from config.celery import app
from core import broker
from tests.artifacts.test_submission import queued_check_ids

pytestmark = [
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def artifacts_queue():
    """The queue production's artifacts worker consumes. Selecting it for a test worker
    sticks to the app (Celery keeps the selection on ``app.amqp.queues``); it is undone
    afterwards so later tests' workers consume the default queue again."""
    queues = app.amqp.queues
    before = queues._consume_from
    yield ["artifacts"]
    queues._consume_from = before


def wait_for_final(check_id: int, seconds: float) -> ArtifactGateCheck:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        check = ArtifactGateCheck.objects.get(pk=check_id)
        if check.status in ArtifactGateCheck.FINAL:
            return check
        time.sleep(0.1)
    raise AssertionError(f"check #{check_id} still {check.status} after {seconds} s")


def test_a_real_worker_runs_a_submitted_check_through_redis(
    worker_client, job, submit, artifact_server, artifacts_queue
):
    broker.reset()
    queued_check_ids()  # nothing left over from other tests
    artifact_server.expect_request("/index.html").respond_with_data("ok")
    artifact_server.expect_request("/app.zip").respond_with_data("gone", status=404)
    artifact_server.expect_request("/fixed.zip").respond_with_data("zip")

    with start_worker(
        app,
        pool="threads",
        concurrency=4,
        queues=artifacts_queue,
        perform_ping_check=False,
        shutdown_timeout=10,
    ):
        failed = submit(
            job,
            artifact_server.url_for("/index.html"),
            {"url": artifact_server.url_for("/app.zip")},
        )
        failed_check = wait_for_final(failed["id"], 20)
        refused = worker_client.post(f"/api/v1/jobs/{job.external_id}/complete")

        passed = submit(
            job,
            artifact_server.url_for("/index.html"),
            {"url": artifact_server.url_for("/fixed.zip")},
        )
        passed_check = wait_for_final(passed["id"], 20)

    assert failed_check.status == "failed"
    assert failed_check.failing_url == artifact_server.url_for("/app.zip")
    assert refused.status_code == 409 and refused.json()["guard"] == "failed"
    assert passed_check.status == "passed"
    assert [item["status_code"] for item in passed_check.results] == [200, 200]

    completed = worker_client.post(f"/api/v1/jobs/{job.external_id}/complete")
    assert completed.status_code == 200, completed.content
    assert completed.json()["status"] == "completed"
