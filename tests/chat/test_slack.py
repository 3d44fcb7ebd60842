"""Slack: Block Kit buttons on the report; block_actions and the /pls-link slash command at
our Request URL, signed with slack_sdk's own request signing (v0 and a timestamp); the
message is replaced through the callback's response_url, read back with slack_sdk's models."""

import json
import time
from itertools import count
from urllib.parse import urlencode

import pytest
from slack_sdk.models.blocks import ActionsBlock, Block
from slack_sdk.signature import SignatureVerifier

from notifications.chat import chat_link_code_issue
from notifications.drain import outbox_drain_channel
from notifications.models import ChatIdentity
from tests.chat.conftest import SECRET, calls_to, linked, polled_status

pytestmark = pytest.mark.django_db
RESPONSE_PATH = "/slack/response-url/T1/B1"
_triggers = count(1)


@pytest.fixture
def channel(chat_channel, httpserver):
    httpserver.expect_request(RESPONSE_PATH, method="POST").respond_with_data("ok")
    httpserver.expect_request("/slack/webhook", method="POST").respond_with_data("ok")
    return chat_channel("slack")


def signed(body: bytes, *, secret: str = SECRET, at: float | None = None) -> dict[str, str]:
    timestamp = str(int(at if at is not None else time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}


def press(httpserver, value: str, *, user_id: str = "U0REVIEW", trigger: str = "") -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": user_id, "username": "louis", "team_id": "T1"},
        "api_app_id": "A1",
        "team": {"id": "T1", "domain": "example"},
        "trigger_id": trigger or f"trigger-{next(_triggers)}",
        "response_url": httpserver.url_for(RESPONSE_PATH),
        "container": {"type": "message", "message_ts": "1700000000.000100"},
        "message": {
            "type": "message",
            "ts": "1700000000.000100",
            "text": "codex-1 asks to release JOB-1",
            "blocks": [
                {"type": "section", "text": {"type": "plain_text", "text": "codex-1 asks"}},
                {
                    "type": "actions",
                    "block_id": "pls_decision",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "pls_approve",
                            "text": {"type": "plain_text", "text": "Approve"},
                            "value": value,
                        }
                    ],
                },
            ],
        },
        "actions": [
            {
                "type": "button",
                "action_id": "pls_approve",
                "block_id": "pls_decision",
                "value": value,
                "action_ts": str(time.time()),
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def send(post, channel, body: bytes, **signing):
    return post(channel, body, "application/x-www-form-urlencoded", **signed(body, **signing))


def test_the_pending_report_carries_block_kit_buttons(channel, pending, httpserver):
    outbox_drain_channel(channel_id=channel.pk, follow_up=False)

    (sent,) = calls_to(httpserver, "/slack/webhook")
    blocks = Block.parse_all(sent["blocks"])
    (actions,) = [b for b in blocks if isinstance(b, ActionsBlock)]
    actions.validate_json()
    assert [e.value for e in actions.elements] == [f"sh:{pending.pk}:a", f"sh:{pending.pk}:r"]


def test_a_linked_reviewer_approves_and_the_buttons_go(
    channel, pending, reviewer, post, httpserver, worker_client
):
    linked(channel, reviewer, "U0REVIEW", "louis")

    response = send(post, channel, press(httpserver, f"sh:{pending.pk}:a"))

    assert response.status_code == 200
    assert polled_status(worker_client, pending) == "approved"
    (replaced,) = calls_to(httpserver, RESPONSE_PATH)
    assert replaced["replace_original"] is True
    blocks = Block.parse_all(replaced["blocks"])
    assert not [b for b in blocks if isinstance(b, ActionsBlock)]
    for block in blocks:
        block.validate_json()
    assert "approved" in replaced["text"]


def test_the_requesters_own_identity_is_refused(
    channel, pending, requester_in_role, post, httpserver, worker_client
):
    linked(channel, requester_in_role, "U0WORKER")

    send(post, channel, press(httpserver, f"sh:{pending.pk}:a", user_id="U0WORKER"))

    assert polled_status(worker_client, pending) == "pending"
    (told,) = calls_to(httpserver, RESPONSE_PATH)
    assert told["response_type"] == "ephemeral" and told["replace_original"] is False
    assert "own request" in told["text"]


def test_an_unlinked_user_is_refused(channel, pending, post, httpserver, worker_client):
    send(post, channel, press(httpserver, f"sh:{pending.pk}:a", user_id="U0STRANGER"))

    assert polled_status(worker_client, pending) == "pending"
    (told,) = calls_to(httpserver, RESPONSE_PATH)
    assert "not linked" in told["text"]


@pytest.mark.parametrize(
    "signing",
    [{"secret": "not-the-signing-secret"}, {"at": time.time() - 600}],
    ids=["tampered", "stale"],
)
def test_a_bad_or_stale_signature_is_401(
    channel, pending, reviewer, post, httpserver, worker_client, signing
):
    linked(channel, reviewer, "U0REVIEW")

    response = send(post, channel, press(httpserver, f"sh:{pending.pk}:a"), **signing)

    assert response.status_code == 401
    assert polled_status(worker_client, pending) == "pending"


def test_a_replayed_action_changes_nothing(
    channel, pending, reviewer, post, httpserver, worker_client
):
    linked(channel, reviewer, "U0REVIEW")
    body = press(httpserver, f"sh:{pending.pk}:r", trigger="trigger-once")
    send(post, channel, body)

    send(post, channel, body)
    send(post, channel, press(httpserver, f"sh:{pending.pk}:a", trigger="trigger-once"))

    assert polled_status(worker_client, pending) == "rejected"
    assert len(calls_to(httpserver, RESPONSE_PATH)) == 1


def test_linking_with_the_slash_command(channel, reviewer, post):
    code = chat_link_code_issue(user=reviewer)
    body = urlencode(
        {
            "command": "/pls-link",
            "text": code,
            "user_id": "U0REVIEW",
            "user_name": "louis",
            "trigger_id": "trigger-link",
            "response_url": "https://hooks.slack.com/commands/T1/1/x",
        }
    ).encode()

    response = send(post, channel, body)

    assert response.json()["response_type"] == "ephemeral"
    assert reviewer.username in response.json()["text"]
    assert ChatIdentity.objects.get().user == reviewer
