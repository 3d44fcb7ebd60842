"""A decided request is POSTed to the worker's callback URL, signed the Standard Webhooks
way with the worker's callback secret (verified here with the reference verifier)."""

import hashlib
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient
from standardwebhooks import Webhook, WebhookVerificationError
from werkzeug import Response

from repairs.exceptions import CallbackFailed
from repairs.models import SelfHealRequest, Worker
from repairs.services import self_heal_callbacks_due, worker_callback_secret_rotate
from repairs.tasks import self_heal_callback_send
from tests.factories import event_body
from tests.sealed import stored_row

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


def test_the_decision_reaches_the_callback_signed_with_the_workers_callback_secret(
    worker,
    worker_client,
    worker_token,
    reviewer,
    session_client,
    httpserver,
    django_capture_on_commit_callbacks,
):
    secret = worker_callback_secret_rotate(worker=worker)
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("ok")
    request_id = escalate_with_callback(worker_client, httpserver.url_for("/hook"))
    callbacks = approve(reviewer, session_client, request_id, django_capture_on_commit_callbacks)
    assert callbacks, "the decision asks Celery to send the callback after commit"

    self_heal_callback_send.apply(args=[request_id]).get()

    ((sent, _),) = httpserver.log
    payload = Webhook(secret).verify(sent.get_data(), dict(sent.headers))
    assert sent.headers["webhook-id"] == f"msg_pls_self_heal_{request_id}"
    assert payload["self_heal_request"] == request_id
    assert payload["status"] == "approved"
    assert payload["decided_by"] == reviewer.username
    assert SelfHealRequest.objects.get(pk=request_id).callback_delivered_at is not None
    # Nothing derived from the token signs it any more: no one who reads the token table
    # (its digests) or the SQL log can forge a callback.
    assert "X-PLS-Signature" not in sent.headers
    digest = hashlib.sha256(worker_token.encode()).hexdigest().encode()
    with pytest.raises(WebhookVerificationError):
        Webhook(digest).verify(sent.get_data(), dict(sent.headers))


def test_a_rotated_callback_secret_signs_beside_the_new_one_only_inside_the_overlap(
    worker, worker_client, reviewer, session_client, httpserver, django_capture_on_commit_callbacks
):
    old = worker_callback_secret_rotate(worker=worker)
    new = worker_callback_secret_rotate(worker=worker, overlap=timedelta(minutes=30))
    httpserver.expect_request("/hook").respond_with_data("ok")
    inside = escalate_with_callback(worker_client, httpserver.url_for("/hook"))
    approve(reviewer, session_client, inside, django_capture_on_commit_callbacks)

    self_heal_callback_send.apply(args=[inside]).get()

    sent, _ = httpserver.log[-1]
    Webhook(old).verify(sent.get_data(), dict(sent.headers))
    Webhook(new).verify(sent.get_data(), dict(sent.headers))

    Worker.objects.filter(pk=worker.pk).update(
        webhook_secret_previous_until=timezone.now() - timedelta(seconds=1)
    )
    after = escalate_with_callback(worker_client, httpserver.url_for("/hook"))
    approve(reviewer, session_client, after, django_capture_on_commit_callbacks)

    self_heal_callback_send.apply(args=[after]).get()

    sent, _ = httpserver.log[-1]
    Webhook(new).verify(sent.get_data(), dict(sent.headers))
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(sent.get_data(), dict(sent.headers))


def test_create_worker_shows_the_callback_secret_once_and_stores_it_sealed(db):
    out = io.StringIO()
    call_command("create_worker", "codex-secret", "--team", "alpha", stdout=out)

    lines = out.getvalue().splitlines()
    secret = next(word for line in lines for word in line.split() if word.startswith("whsec_"))
    assert lines[-1].startswith("pls_")  # the token stays the last line, for scripts
    worker = Worker.objects.get(name="codex-secret")
    assert secret.removeprefix("whsec_") not in stored_row(worker)
    assert worker.webhook_secret == secret


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
