"""Drill: the Celery worker running an artifact check is killed with SIGKILL mid-fetch.

The production artifacts worker (``-Q artifacts -P threads``) takes the check and is
killed while the artifact host is still answering: no shutdown code runs, the task is
never acknowledged (late acknowledgement: Redis would hand it out again after the
visibility timeout) and the check is left ``running``. A second worker with beat is
started: the artifacts sweep finds the check running for longer than
``ARTIFACT_CHECK_STALE_SECONDS`` (shortened here) and asks for it again; the run takes it
over as attempt 2 and records the verdict. The lost run can never record one (its attempt
number is stale), so the check ends with one verdict and one ``artifact_guard`` event.
"""

import threading
import time

import pytest
import redis
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from artifacts.models import ArtifactGateCheck
from repairs.models import Gate, RepairEvent
from tests.factories import WorkerFactory, artifact_check_body, client_for, held_job
from tests.faults.conftest import drill
from tests.processes import wait_until

pytestmark = [
    *drill(),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

STALE_SECONDS = 3
WORKER_ENV = {
    "ARTIFACT_ALLOWED_HOSTS": "127.0.0.1",
    "ARTIFACT_CHECK_STALE_SECONDS": str(STALE_SECONDS),
    "ARTIFACT_SWEEP_SECONDS": "1",
}


class SlowArtifact:
    """The artifact host: the first fetch hangs until released (the worker is killed in
    the meantime); later fetches answer 200 at once."""

    def __init__(self) -> None:
        self.first_fetch = threading.Event()
        self.release = threading.Event()
        self.fetches = 0
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        with self._lock:
            self.fetches += 1
            first = self.fetches == 1
        if first:
            self.first_fetch.set()
            self.release.wait(timeout=30)
        return Response("release notes v2", status=200, content_type="text/plain")


@pytest.fixture
def artifact_host():
    # Threaded: the hanging first fetch must not hold up the second worker's.
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def test_a_check_whose_worker_was_killed_still_reaches_one_final_verdict(
    publishing_to, spawn, artifact_host
):
    slow = SlowArtifact()
    artifact_host.expect_request("/release-notes.txt").respond_with_handler(slow)
    worker = WorkerFactory()
    job = held_job(worker)
    first = spawn.celery(
        broker_url=publishing_to.url,
        name="artifacts-1",
        queues="artifacts",
        pool="threads",
        env=WORKER_ENV,
    )

    try:
        response = client_for(worker).post(
            "/api/v1/artifact-gate-checks",
            artifact_check_body(job, artifact_host.url_for("/release-notes.txt")),
            format="json",
        )
        assert response.status_code == 202
        check_id = response.json()["id"]
        assert slow.first_fetch.wait(timeout=30), "the first worker never fetched the artifact"

        first.kill()  # SIGKILL mid-fetch: no shutdown, no acknowledgement, no verdict
        killed_at = time.monotonic()
    finally:
        slow.release.set()
    killed = ArtifactGateCheck.objects.get(pk=check_id)
    assert (killed.status, killed.attempts) == ("running", 1)
    # Late acknowledgement: the task is still unacknowledged in the broker, so Redis hands
    # it out again after the visibility timeout even if no sweep ever ran.
    assert redis.Redis.from_url(publishing_to.url).hlen("unacked") == 1

    spawn.celery(
        broker_url=publishing_to.url,
        name="artifacts-2",
        queues="celery,artifacts",
        pool="threads",
        beat=True,
        env=WORKER_ENV,
    )
    wait_until(
        lambda: ArtifactGateCheck.objects.get(pk=check_id).status in ArtifactGateCheck.FINAL,
        STALE_SECONDS + 30,
        "the check to reach a final status",
    )
    print(f"check #{check_id} final {time.monotonic() - killed_at:.1f} s after the kill")
    time.sleep(1.5)  # more sweeps and any redelivery: a final check is left alone

    check = ArtifactGateCheck.objects.get(pk=check_id)
    events = RepairEvent.objects.filter(
        gate=Gate.ARTIFACT_GUARD, message__startswith=f"Artifact check #{check_id} "
    )
    assert check.status == "passed"
    assert check.attempts == 2
    assert events.count() == 1
    assert slow.fetches == 2
