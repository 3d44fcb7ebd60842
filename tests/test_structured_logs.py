"""Log lines as JSON carry the request id (read from X-Request-ID or issued, and returned),
the worker or user, and are redacted, whichever logger wrote them."""

import base64
import io
import json
import logging

import pytest
import structlog

from core import logs
from core.redaction import RedactingFilter
from tests.factories import event_body

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/worker-repair-events"
TOKEN = "pls_" + "a1b2c3d4e5f6g7h8i9j0" * 2


@pytest.fixture
def json_lines():
    """The root logger's lines as the image writes them (LOG_FORMAT=json), parsed."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        logging.config.DictConfigurator({}).configure_formatter(logs.formatter("json"))
    )
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)


def test_a_request_id_is_issued_and_returned(worker_client):
    response = worker_client.get("/api/v1/workers/me")

    assert len(response["X-Request-ID"]) == 32


def test_a_request_id_the_client_sends_is_returned(worker_client):
    response = worker_client.get("/api/v1/workers/me", HTTP_X_REQUEST_ID="lb-7f3a.42")

    assert response["X-Request-ID"] == "lb-7f3a.42"


@pytest.mark.parametrize("sent", ["two words", "x" * 129, "<script>", "a\tb"])
def test_a_request_id_that_is_not_a_plain_token_is_replaced(worker_client, sent):
    response = worker_client.get("/api/v1/workers/me", HTTP_X_REQUEST_ID=sent)

    assert response["X-Request-ID"] != sent
    assert len(response["X-Request-ID"]) == 32


def test_a_line_logged_while_handling_a_request_names_it_and_the_worker(
    worker_client, worker, json_lines
):
    # No channel exists: the self-heal request's report is kept unrouted, and says so.
    response = worker_client.post(
        EVENTS, event_body(action="release"), format="json", HTTP_X_REQUEST_ID="req-1"
    )
    assert response.status_code == 201

    (line,) = [line for line in json_lines() if "kept unrouted" in line["event"]]
    assert line["request_id"] == "req-1"
    assert line["worker"] == worker.name
    assert line["level"] == "info" and line["logger"] == "notifications.services"
    assert line["timestamp"].endswith("Z")
    assert structlog.contextvars.get_contextvars() == {}  # nothing leaks to the next request


def test_a_person_calling_the_api_is_named(client, worker_client, reviewer, json_lines):
    reviewer.set_password("pw-for-the-test")
    reviewer.save()
    request_id = worker_client.post(EVENTS, event_body(action="release"), format="json").json()[
        "self_heal_request"
    ]
    credentials = base64.b64encode(f"{reviewer.username}:pw-for-the-test".encode()).decode()

    response = client.post(
        f"/api/v1/self-heal-requests/{request_id}/approve",
        {"note": "go"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {credentials}",
    )

    assert response.status_code == 200, response.content
    (line,) = [line for line in json_lines() if "self_heal.decided" in line["event"]]
    assert line["user"] == reviewer.username
    assert line["request_id"] == response["X-Request-ID"]
    assert "worker" not in line


def test_redaction_runs_on_every_line_and_every_field(json_lines):
    structlog.contextvars.bind_contextvars(request_id="req-2")
    try:
        logging.getLogger("tests").warning("worker pasted %s", f"Authorization: Bearer {TOKEN}")
        structlog.get_logger("tests").info("event with fields", evidence=f"token={TOKEN}")
        try:
            raise RuntimeError(f"failed with {TOKEN}")
        except RuntimeError:
            logging.getLogger("tests").exception("crash")
    finally:
        structlog.contextvars.clear_contextvars()

    lines = json_lines()
    assert len(lines) == 3
    assert TOKEN not in json.dumps(lines)
    assert "[REDACTED:" in lines[0]["event"]
    assert "[REDACTED:" in lines[1]["evidence"]
    assert "RuntimeError" in lines[2]["exception"] and "[REDACTED:" in lines[2]["exception"]
    assert all(line["request_id"] == "req-2" for line in lines)
