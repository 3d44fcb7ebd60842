"""Fixtures for the artifact guard: a real local HTTP server plays the artifact host."""

import hashlib
import socket
from collections.abc import Callable

import pytest
from pytest_httpserver import HTTPServer
from rest_framework.test import APIClient

from artifacts.models import ArtifactGateCheck
from artifacts.services import artifact_check_run
from repairs.models import Job, Worker
from tests.factories import artifact_check_body, held_job

CHECKS = "/api/v1/artifact-gate-checks"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="session")
def _artifact_host():
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def artifact_server(_artifact_host):
    """A threaded server on 127.0.0.1 (in the tests' ARTIFACT_ALLOWED_HOSTS): a check's
    URLs are fetched concurrently, and a slow answer must not hold up the others. Its
    answers and log are cleared after each test."""
    yield _artifact_host
    _artifact_host.clear()


def closed_port_url(path: str) -> str:
    """A URL on 127.0.0.1 where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


@pytest.fixture(autouse=True)
def quick_limits(settings):
    """Tests wait a second or two, not the production ten, on a peer that does not answer."""
    settings.ARTIFACT_CONNECT_TIMEOUT = 1.0
    settings.ARTIFACT_READ_TIMEOUT = 2.0
    settings.ARTIFACT_FETCH_DEADLINE_SECONDS = 10.0


@pytest.fixture
def job(worker) -> Job:
    """A job the ``worker`` fixture holds."""
    return held_job(worker)


@pytest.fixture
def submit(worker_client) -> Callable[..., dict]:
    """POSTs a check for ``job`` as the worker; returns the response's JSON (status 202
    asserted unless ``expect`` says otherwise)."""

    def post(
        job: Job, primary_url: str, *uploads: dict, client: APIClient | None = None, expect=202
    ) -> dict:
        response = (client or worker_client).post(
            CHECKS, artifact_check_body(job, primary_url, *uploads), format="json"
        )
        assert response.status_code == expect, response.content
        return response.json()

    return post


@pytest.fixture
def checked(submit) -> Callable[..., ArtifactGateCheck]:
    """Submits a check through the API and runs it as the Celery task would; returns it."""

    def run(job: Job, primary_url: str, *uploads: dict) -> ArtifactGateCheck:
        body = submit(job, primary_url, *uploads)
        artifact_check_run(check_id=body["id"])
        return ArtifactGateCheck.objects.get(pk=body["id"])

    return run


def client_for(worker: Worker) -> APIClient:
    from tests.factories import issue_token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token(worker)}")
    return client
