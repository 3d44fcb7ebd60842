"""A decided request is POSTed to the worker's callback URL, signed with its token."""

import hashlib
import hmac
import json

import pytest
from rest_framework.test import APIClient
from werkzeug import Response

from repairs.exceptions import CallbackFailed
from repairs.models import SelfHealRequest
from repairs.services import self_heal_callbacks_due
from repairs.tasks import self_heal_callback_send
from tests.factories import event_body

EVENTS = "/api/v1/worker-repair-events"

pytestmark = pytest.mark.django_db


def escalate_with_callback(client: APIClient, url: str) -> int:
    body = client.post(EVENTS, event_body(action="release", callback_url=url), format="json").json()
    return body["self_heal_request"]


def approve(reviewer, session_client, request_id: int, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = session_client(reviewer).post(
            f"/api/v1/self-heal-requests/{request_id}/approve", {"note": "go"}, format="json"
        )
    assert response.status_code == 200
    return callbacks


def test_the_decision_reaches_the_callback_signed_with_the_workers_token(
    worker_client,
    worker_token,
    reviewer,
    session_client,
    httpserver,
    django_capture_on_commit_callbacks,
):
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("ok")
    request_id = escalate_with_callback(worker_client, httpserver.url_for("/hook"))
    callbacks = approve(reviewer, session_client, request_id, django_capture_on_commit_callbacks)
    assert callbacks, "the decision asks Celery to send the callback after commit"

    self_heal_callback_send.apply(args=[request_id]).get()

    ((sent, _),) = httpserver.log
    body = sent.get_data()
    key = hashlib.sha256(worker_token.encode()).hexdigest().encode()
    expected = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(sent.headers["X-PLS-Signature"], expected)
    payload = json.loads(body)
    assert payload["self_heal_request"] == request_id
    assert payload["status"] == "approved"
    assert payload["decided_by"] == reviewer.username
    assert SelfHealRequest.objects.get(pk=request_id).callback_delivered_at is not None


def test_a_signature_made_with_another_token_does_not_verify(
    worker_client, reviewer, session_client, httpserver, django_capture_on_commit_callbacks
):
    httpserver.expect_oneshot_request("/hook").respond_with_data("ok")
    request_id = escalate_with_callback(worker_client, httpserver.url_for("/hook"))
    approve(reviewer, session_client, request_id, django_capture_on_commit_callbacks)

    self_heal_callback_send.apply(args=[request_id]).get()

    ((sent, _),) = httpserver.log
    forged_key = hashlib.sha256(b"pls_someone-else").hexdigest().encode()
    forged = "sha256=" + hmac.new(forged_key, sent.get_data(), hashlib.sha256).hexdigest()
    assert sent.headers["X-PLS-Signature"] != forged


def test_a_failing_callback_is_retried_and_delivered_once(
    worker_client, reviewer, session_client, httpserver, django_capture_on_commit_callbacks
):
    answers = iter([Response("down", status=503), Response("ok", status=200)])
    httpserver.expect_request("/hook").respond_with_handler(lambda request: next(answers))
    request_id = escalate_with_callback(worker_client, httpserver.url_for("/hook"))
    approve(reviewer, session_client, request_id, django_capture_on_commit_callbacks)

    from repairs.services import self_heal_callback_deliver

    with pytest.raises(CallbackFailed):
        self_heal_callback_deliver(request_id=request_id)
    failed = SelfHealRequest.objects.get(pk=request_id)
    assert (failed.callback_attempts, failed.callback_last_error) == (1, "HTTP 503")

    assert self_heal_callback_deliver(request_id=request_id) is True
    assert self_heal_callback_deliver(request_id=request_id) is False  # sent once only
    assert len(httpserver.log) == 2


def test_a_pending_request_sends_no_callback(worker_client, httpserver):
    request_id = escalate_with_callback(worker_client, httpserver.url_for("/hook"))

    self_heal_callback_send.apply(args=[request_id]).get()

    assert httpserver.log == []


def test_the_sweep_finds_callbacks_whose_task_was_lost(
    worker_client, reviewer, session_client, httpserver, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    request_id = escalate_with_callback(worker_client, httpserver.url_for("/hook"))
    approve(reviewer, session_client, request_id, django_capture_on_commit_callbacks)
    assert self_heal_callbacks_due() == []  # its own task is still expected to run

    SelfHealRequest.objects.filter(pk=request_id).update(
        decided_at=timezone.now() - timedelta(minutes=11)
    )

    assert self_heal_callbacks_due() == [request_id]


def test_a_callback_url_must_be_http(worker_client):
    response = worker_client.post(
        EVENTS, event_body(action="release", callback_url="file:///etc/passwd"), format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "#/callback_url"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_callback_to_a_private_address_is_refused_and_not_retried(
    worker_client,
    reviewer,
    session_client,
    httpserver,
    settings,
    host,
    django_capture_on_commit_callbacks,
):
    settings.PLS_OUTBOUND_ALLOWED_HOSTS = []  # production: nothing private is allowed
    url = httpserver.url_for("/hook").replace("localhost", host)
    request_id = escalate_with_callback(worker_client, url)
    approve(reviewer, session_client, request_id, django_capture_on_commit_callbacks)

    from repairs.services import self_heal_callback_deliver

    assert self_heal_callback_deliver(request_id=request_id) is False

    assert httpserver.log == []
    refused = SelfHealRequest.objects.get(pk=request_id)
    assert refused.callback_last_error.startswith("refused: the URL resolves to a private")
    assert refused.callback_delivered_at is None
    assert self_heal_callbacks_due() == []  # the sweep does not try it again


def test_a_decision_goes_through_at_once_while_the_broker_is_down(
    worker_client, reviewer, session_client, monkeypatch, django_capture_on_commit_callbacks
):
    import time

    from core import broker

    request_id = escalate_with_callback(worker_client, "http://127.0.0.1:9/hook")
    broker.reset()

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(self_heal_callback_send, "apply_async", broker_down)
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = session_client(reviewer).post(
            f"/api/v1/self-heal-requests/{request_id}/approve", {"note": "go"}, format="json"
        )

    assert response.status_code == 200
    assert time.monotonic() - started < 1
    # Left for the sweep: still undelivered, and due once its own retries would have run.
    assert SelfHealRequest.objects.get(pk=request_id).callback_delivered_at is None
    broker.reset()
