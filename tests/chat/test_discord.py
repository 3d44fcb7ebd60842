"""Discord: message components on the report (an application-owned webhook), interactions
at our endpoint signed with a real Ed25519 key (PyNaCl) over timestamp + body; PING answered
with PONG, a decision answered with UPDATE_MESSAGE (type 7) that drops the components."""

import json
import time
from itertools import count

import pytest
from django.core.exceptions import ValidationError
from nacl.encoding import HexEncoder
from nacl.signing import SigningKey

from notifications.chat import chat_link_code_issue
from notifications.drain import outbox_drain_channel
from notifications.models import ChatIdentity, OwnerReport
from tests.chat.conftest import calls_to, linked, polled_status

pytestmark = pytest.mark.django_db
_ids = count(1)


@pytest.fixture
def app_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def channel(chat_channel, app_key, httpserver):
    httpserver.expect_request("/discord/webhook", method="POST").respond_with_json(
        {"id": "1180000000000000077", "content": "…"}
    )
    public = app_key.verify_key.encode(encoder=HexEncoder).decode()
    return chat_channel("discord", interaction_public_key=public)


def interaction(kind: int = 3, *, user_id: str = "3300", interaction_id: str = "", **data) -> bytes:
    body: dict = {
        "id": interaction_id or f"11900000000000{next(_ids)}",
        "application_id": "1100000000000000001",
        "type": kind,
        "token": "interaction-token",
        "version": 1,
        "channel_id": "1000000000000000002",
    }
    if kind != 1:
        body["member"] = {"user": {"id": user_id, "username": "louis", "global_name": "Louis"}}
        body["data"] = data
        body["message"] = {"id": "1180000000000000077", "content": "codex-1 asks to release"}
    return json.dumps(body).encode()


def press(custom_id: str, **fields) -> bytes:
    return interaction(3, custom_id=custom_id, component_type=2, **fields)


def send(post, channel, body: bytes, key: SigningKey, *, at: float | None = None):
    timestamp = str(int(at if at is not None else time.time()))
    signature = key.sign(timestamp.encode() + body).signature.hex()
    return post(
        channel,
        body,
        "application/json",
        **{"X-Signature-Ed25519": signature, "X-Signature-Timestamp": timestamp},
    )


def test_the_pending_report_carries_components(channel, pending, httpserver):
    outbox_drain_channel(channel_id=channel.pk, follow_up=False)

    (request, _) = httpserver.log[-1]
    assert request.args.get("wait") == "true"
    (sent,) = calls_to(httpserver, "/discord/webhook")
    (row,) = sent["components"]
    assert row["type"] == 1
    assert [(b["type"], b["custom_id"]) for b in row["components"]] == [
        (2, f"sh:{pending.pk}:a"),
        (2, f"sh:{pending.pk}:r"),
    ]
    report = OwnerReport.objects.get(channel=channel, source="self_heal.pending")
    assert report.provider_message_id == "1180000000000000077"


def test_a_ping_is_answered_with_a_pong(channel, app_key, post):
    response = send(post, channel, interaction(1), app_key)

    assert response.status_code == 200
    assert response.json() == {"type": 1}


def test_a_linked_reviewer_approves_and_the_buttons_go(
    channel, app_key, pending, reviewer, post, worker_client
):
    linked(channel, reviewer, "3300", "Louis")

    response = send(post, channel, press(f"sh:{pending.pk}:a"), app_key)

    assert polled_status(worker_client, pending) == "approved"
    answer = response.json()
    assert answer["type"] == 7  # UPDATE_MESSAGE
    assert answer["data"]["components"] == []
    assert "approved" in answer["data"]["content"]


def test_the_requesters_own_identity_is_refused(
    channel, app_key, pending, requester_in_role, post, worker_client
):
    linked(channel, requester_in_role, "4400")

    response = send(post, channel, press(f"sh:{pending.pk}:a", user_id="4400"), app_key)

    assert polled_status(worker_client, pending) == "pending"
    answer = response.json()
    assert answer["type"] == 4 and answer["data"]["flags"] == 64  # ephemeral, message kept
    assert "own request" in answer["data"]["content"]


def test_an_unlinked_user_is_refused(channel, app_key, pending, post, worker_client):
    response = send(post, channel, press(f"sh:{pending.pk}:a", user_id="9999"), app_key)

    assert polled_status(worker_client, pending) == "pending"
    assert "not linked" in response.json()["data"]["content"]


def test_a_signature_by_another_key_is_401(channel, pending, reviewer, post, worker_client):
    linked(channel, reviewer, "3300")

    response = send(post, channel, press(f"sh:{pending.pk}:a"), SigningKey.generate())

    assert response.status_code == 401
    assert polled_status(worker_client, pending) == "pending"


def test_a_tampered_body_is_401(channel, app_key, pending, reviewer, post, worker_client):
    linked(channel, reviewer, "3300")
    timestamp = str(int(time.time()))
    signed = press(f"sh:{pending.pk}:r")
    signature = app_key.sign(timestamp.encode() + signed).signature.hex()
    tampered = signed.replace(b":r", b":a")

    response = post(
        channel,
        tampered,
        "application/json",
        **{"X-Signature-Ed25519": signature, "X-Signature-Timestamp": timestamp},
    )

    assert response.status_code == 401
    assert polled_status(worker_client, pending) == "pending"


def test_a_replayed_interaction_changes_nothing(
    channel, app_key, pending, reviewer, post, worker_client
):
    linked(channel, reviewer, "3300")
    reject = press(f"sh:{pending.pk}:r", interaction_id="1190000000000000999")
    send(post, channel, reject, app_key)

    again = send(post, channel, reject, app_key)
    send(post, channel, press(f"sh:{pending.pk}:a", interaction_id="1190000000000000999"), app_key)

    assert polled_status(worker_client, pending) == "rejected"
    assert again.json()["type"] == 4  # acknowledged, nothing decided


def test_linking_with_the_link_command(channel, app_key, reviewer, post):
    code = chat_link_code_issue(user=reviewer)
    body = interaction(2, name="link", options=[{"name": "code", "type": 3, "value": code}])

    response = send(post, channel, body, app_key)

    assert response.json()["data"]["flags"] == 64
    assert ChatIdentity.objects.get().provider_user_id == "3300"


def test_a_public_key_that_is_not_one_is_refused_by_the_form(chat_channel):
    channel = chat_channel("discord", interaction_public_key="not-a-key")

    with pytest.raises(ValidationError) as refused:
        channel.clean()

    assert "interaction_public_key" in refused.value.message_dict
