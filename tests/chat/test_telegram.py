"""Telegram: an inline keyboard on the report, callback_query updates at our webhook checked
by X-Telegram-Bot-Api-Secret-Token. Updates are built with python-telegram-bot; what we send
Telegram is read back with its types."""

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from django.utils import timezone
from telegram import CallbackQuery, Chat, InlineKeyboardMarkup, Message, Update, User

from notifications.chat import chat_link_code_issue
from notifications.drain import outbox_drain_channel
from notifications.models import ChatIdentity, OwnerReport
from tests.chat.conftest import SECRET, TELEGRAM_TOKEN, calls_to, linked, polled_status

pytestmark = pytest.mark.django_db
API = f"/telegram/bot{TELEGRAM_TOKEN}"
_update_ids = count(9001)
REVIEWER_ID = 4242


@pytest.fixture
def channel(chat_channel, httpserver):
    channel = chat_channel("telegram")
    for method in ("answerCallbackQuery", "editMessageReplyMarkup", "sendMessage"):
        httpserver.expect_request(f"{API}/{method}", method="POST").respond_with_json(
            {
                "ok": True,
                "result": {"message_id": 77, "date": 0, "chat": {"id": -100123, "type": "group"}},
            }
        )
    return channel


def press(data: str, *, user_id: int = REVIEWER_ID, update_id: int | None = None) -> bytes:
    sender = User(id=user_id, first_name="Louis", is_bot=False, username=f"user{user_id}")
    message = Message(
        message_id=77,
        date=datetime.now(UTC),
        chat=Chat(id=-100123, type=Chat.GROUP),
        text="Self-heal request pending",
    )
    query = CallbackQuery(
        id=f"cbq-{update_id or 0}",
        from_user=sender,
        chat_instance="instance-1",
        data=data,
        message=message,
    )
    update = Update(update_id=update_id or next(_update_ids), callback_query=query)
    return update.to_json().encode()


def say(text: str, *, user_id: int = REVIEWER_ID) -> bytes:
    message = Message(
        message_id=5,
        date=datetime.now(UTC),
        chat=Chat(id=user_id, type=Chat.PRIVATE),
        from_user=User(id=user_id, first_name="Louis", is_bot=False, username="louis"),
        text=text,
    )
    return Update(update_id=next(_update_ids), message=message).to_json().encode()


def send(post, channel, body: bytes, secret: str = SECRET):
    return post(channel, body, "application/json", **{"X-Telegram-Bot-Api-Secret-Token": secret})


def test_the_pending_report_carries_an_inline_keyboard(channel, pending, httpserver):
    outbox_drain_channel(channel_id=channel.pk, follow_up=False)

    (sent,) = calls_to(httpserver, f"{API}/sendMessage")
    keyboard = InlineKeyboardMarkup.de_json(sent["reply_markup"], None)
    assert [b.callback_data for b in keyboard.inline_keyboard[0]] == [
        f"sh:{pending.pk}:a",
        f"sh:{pending.pk}:r",
    ]
    report = OwnerReport.objects.get(channel=channel, source="self_heal.pending")
    assert report.provider_message_id == "77"


def test_a_linked_reviewer_approves_and_the_buttons_go(
    channel, pending, reviewer, post, httpserver, worker_client
):
    linked(channel, reviewer, str(REVIEWER_ID), "@louis")

    response = send(post, channel, press(f"sh:{pending.pk}:a"))

    assert response.status_code == 200
    assert polled_status(worker_client, pending) == "approved"
    pending.refresh_from_db()
    assert pending.decided_by == reviewer
    assert f"telegram @louis ({REVIEWER_ID})" in pending.note
    (edit,) = calls_to(httpserver, f"{API}/editMessageReplyMarkup")
    assert (edit["chat_id"], edit["message_id"]) == (-100123, 77)
    assert InlineKeyboardMarkup.de_json(edit["reply_markup"], None).inline_keyboard == ()
    (answered,) = calls_to(httpserver, f"{API}/answerCallbackQuery")
    assert "approved" in answered["text"]


def test_the_requesters_own_identity_is_refused(
    channel, pending, requester_in_role, post, httpserver, worker_client
):
    linked(channel, requester_in_role, "555")

    send(post, channel, press(f"sh:{pending.pk}:a", user_id=555))

    assert polled_status(worker_client, pending) == "pending"
    (answered,) = calls_to(httpserver, f"{API}/answerCallbackQuery")
    assert "own request" in answered["text"] and answered["show_alert"] is True
    assert calls_to(httpserver, f"{API}/editMessageReplyMarkup") == []


def test_an_unlinked_user_is_told_how_to_link_and_nothing_changes(
    channel, pending, post, httpserver, worker_client, settings
):
    settings.PLS_PUBLIC_URL = "https://console.example.com/pls-ops"

    send(post, channel, press(f"sh:{pending.pk}:r", user_id=999))

    assert polled_status(worker_client, pending) == "pending"
    (answered,) = calls_to(httpserver, f"{API}/answerCallbackQuery")
    assert "not linked" in answered["text"]
    # Whole, inside the 200 characters Telegram shows.
    assert "https://console.example.com/pls-ops/admin/console/chat-link/" in answered["text"]
    assert answered["text"].endswith("/link <code>")


def test_a_wrong_secret_token_is_401(channel, pending, reviewer, post, worker_client):
    linked(channel, reviewer, str(REVIEWER_ID))

    response = send(post, channel, press(f"sh:{pending.pk}:a"), secret="guessed")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert polled_status(worker_client, pending) == "pending"


def test_a_replayed_update_changes_nothing(
    channel, pending, reviewer, post, httpserver, worker_client
):
    linked(channel, reviewer, str(REVIEWER_ID))
    reject = press(f"sh:{pending.pk}:r", update_id=777)
    approve_with_same_id = press(f"sh:{pending.pk}:a", update_id=777)
    # A rejection needs a note; from chat the note names the identity, so it is accepted.
    send(post, channel, reject)
    calls = len(httpserver.log)

    send(post, channel, reject)
    send(post, channel, approve_with_same_id)

    assert polled_status(worker_client, pending) == "rejected"
    assert len(httpserver.log) == calls  # nothing answered, nothing edited


def test_linking_by_sending_the_consoles_code(channel, reviewer, post, httpserver, client):
    client.force_login(reviewer)
    page = client.post("/admin/console/chat-link/")
    code = page.context["code"]

    send(post, channel, say(f"/link {code}"))

    identity = ChatIdentity.objects.get()
    assert (identity.kind, identity.provider_user_id, identity.user) == (
        "telegram",
        str(REVIEWER_ID),
        reviewer,
    )
    (reply,) = calls_to(httpserver, f"{API}/sendMessage")
    assert reviewer.username in reply["text"]
    # Once only.
    send(post, channel, say(f"/link {code}", user_id=1))
    assert ChatIdentity.objects.count() == 1
    assert "unknown, used or expired" in calls_to(httpserver, f"{API}/sendMessage")[-1]["text"]


def test_an_expired_code_links_nobody(channel, reviewer, post, httpserver):
    code = chat_link_code_issue(user=reviewer, now=timezone.now() - timedelta(minutes=11))

    send(post, channel, say(f"/link {code}"))

    assert not ChatIdentity.objects.exists()
    assert "expired" in calls_to(httpserver, f"{API}/sendMessage")[-1]["text"]
