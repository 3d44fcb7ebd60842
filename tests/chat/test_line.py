"""LINE: a confirm template with postback actions on the report; webhooks signed with
X-Line-Signature and read by line-bot-sdk's own parser; LINE cannot edit a sent message, so
the outcome is a reply, checked against the SDK's request models."""

import base64
import hashlib
import hmac
import json
import time
from itertools import count

import pytest
from linebot.v3 import WebhookParser
from linebot.v3.messaging import PushMessageRequest, ReplyMessageRequest
from linebot.v3.webhooks import MessageEvent, PostbackEvent

from notifications.chat import chat_link_code_issue
from notifications.drain import outbox_drain_channel
from notifications.models import ChatIdentity, OwnerReport
from tests.chat.conftest import SECRET, calls_to, linked, polled_status

pytestmark = pytest.mark.django_db
REPLY = "/line/v2/bot/message/reply"
PUSH = "/line/v2/bot/message/push"
REVIEWER = "U4af4980629aaaaaaaaaaaaaaaaaaaaaa"
_ids = count(1)


@pytest.fixture
def channel(chat_channel, httpserver):
    httpserver.expect_request(REPLY, method="POST").respond_with_json({"sentMessages": []})
    httpserver.expect_request(PUSH, method="POST").respond_with_json(
        {"sentMessages": [{"id": "461230966842064897", "quoteToken": "q"}]}
    )
    return chat_channel("line")


def webhook(event: dict, *, user_id: str = REVIEWER, event_id: str = "") -> bytes:
    event = {
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": event_id or f"01HQ{next(_ids):022d}",
        "deliveryContext": {"isRedelivery": False},
        "replyToken": f"reply-token-{next(_ids)}",
        **event,
    }
    return json.dumps({"destination": "Ubot", "events": [event]}).encode()


def press(data: str, **fields) -> bytes:
    return webhook({"type": "postback", "postback": {"data": data}}, **fields)


def signature(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def send(post, channel, body: bytes, secret: str = SECRET):
    sig = signature(body, secret)
    if secret == SECRET:
        # What we send is what LINE sends: the SDK's parser checks the signature and reads it.
        (event,) = WebhookParser(SECRET).parse(body.decode(), sig)
        assert isinstance(event, PostbackEvent | MessageEvent)
    return post(channel, body, "application/json", **{"X-Line-Signature": sig})


def test_the_pending_report_carries_postback_actions(channel, pending, httpserver):
    outbox_drain_channel(channel_id=channel.pk, follow_up=False)

    (sent,) = calls_to(httpserver, PUSH)
    push = PushMessageRequest.from_dict(sent)
    template = push.messages[1].template
    assert [a.data for a in template.actions] == [f"sh:{pending.pk}:a", f"sh:{pending.pk}:r"]
    report = OwnerReport.objects.get(channel=channel, source="self_heal.pending")
    assert report.provider_message_id == "461230966842064897"


def test_a_linked_reviewer_approves_and_is_told_in_a_reply(
    channel, pending, reviewer, post, httpserver, worker_client
):
    linked(channel, reviewer, REVIEWER)

    response = send(post, channel, press(f"sh:{pending.pk}:a"))

    assert response.status_code == 200
    assert polled_status(worker_client, pending) == "approved"
    (reply,) = calls_to(httpserver, REPLY)
    request = ReplyMessageRequest.from_dict(reply)
    assert "approved" in request.messages[0].text


def test_the_requesters_own_identity_is_refused(
    channel, pending, requester_in_role, post, httpserver, worker_client
):
    linked(channel, requester_in_role, "Uworker")

    send(post, channel, press(f"sh:{pending.pk}:a", user_id="Uworker"))

    assert polled_status(worker_client, pending) == "pending"
    assert "own request" in calls_to(httpserver, REPLY)[0]["messages"][0]["text"]


def test_an_unlinked_user_is_refused(channel, pending, post, httpserver, worker_client):
    send(post, channel, press(f"sh:{pending.pk}:a", user_id="Ustranger"))

    assert polled_status(worker_client, pending) == "pending"
    assert "not linked" in calls_to(httpserver, REPLY)[0]["messages"][0]["text"]


def test_a_bad_signature_is_401(channel, pending, reviewer, post, worker_client):
    linked(channel, reviewer, REVIEWER)

    response = send(post, channel, press(f"sh:{pending.pk}:a"), secret="not-the-channel-secret")

    assert response.status_code == 401
    assert polled_status(worker_client, pending) == "pending"


def test_a_redelivered_event_changes_nothing(
    channel, pending, reviewer, post, httpserver, worker_client
):
    linked(channel, reviewer, REVIEWER)
    send(post, channel, press(f"sh:{pending.pk}:r", event_id="01HQREDELIVERED"))

    send(post, channel, press(f"sh:{pending.pk}:a", event_id="01HQREDELIVERED"))

    assert polled_status(worker_client, pending) == "rejected"
    assert len(calls_to(httpserver, REPLY)) == 1


def test_linking_by_sending_the_code(channel, reviewer, post, httpserver):
    code = chat_link_code_issue(user=reviewer)

    send(
        post,
        channel,
        webhook(
            {
                "type": "message",
                "message": {"id": "1", "type": "text", "quoteToken": "q", "text": f"/link {code}"},
            }
        ),
    )

    assert ChatIdentity.objects.get().provider_user_id == REVIEWER
    assert reviewer.username in calls_to(httpserver, REPLY)[0]["messages"][0]["text"]
