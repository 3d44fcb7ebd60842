"""A decision from chat is the console's decision: the same services, roles and append-only
records, with the channel and chat identity named in the record and the audit trail
(``[chat]``). Shown on Telegram; the providers differ only in their wire format."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.utils import timezone

from core.audit import channel_of, message_of
from notifications.drain import outbox_drain_channel
from notifications.models import ChatIdentity
from policies.models import PolicyDecision, Proposal
from tests.chat.conftest import calls_to, linked, polled_status
from tests.chat.test_telegram import API, REVIEWER_ID, press, send
from tests.factories import event_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(chat_channel, httpserver):
    for method in ("answerCallbackQuery", "editMessageReplyMarkup", "sendMessage"):
        httpserver.expect_request(f"{API}/{method}", method="POST").respond_with_json(
            {"ok": True, "result": {"message_id": 77}}
        )
    return chat_channel("telegram")


@pytest.fixture
def repair(worker_client) -> Proposal:
    for _ in range(2):
        worker_client.post(
            "/api/v1/worker-repair-events", event_body(action="diagnose"), format="json"
        )
    return Proposal.objects.get(kind="repair")


def test_the_reviewer_adopts_a_repair_proposal_from_its_report(
    channel, repair, reviewer, post, httpserver
):
    outbox_drain_channel(channel_id=channel.pk, follow_up=False)
    (sent,) = calls_to(httpserver, f"{API}/sendMessage")
    adopt, _reject = sent["reply_markup"]["inline_keyboard"][0]
    linked(channel, reviewer, str(REVIEWER_ID), "@louis")

    send(post, channel, press(adopt["callback_data"]))

    repair.refresh_from_db()
    assert repair.status == "adopted"
    (record,) = PolicyDecision.objects.filter(proposal=repair)
    assert record.decided_by == reviewer
    assert "from chat: Telegram bot channel telegram-reviewers, telegram @louis" in record.rationale
    assert calls_to(httpserver, f"{API}/editMessageReplyMarkup")


def test_a_rejection_from_chat_is_an_append_only_decision_record(channel, repair, reviewer, post):
    linked(channel, reviewer, str(REVIEWER_ID))

    send(post, channel, press(f"pr:{repair.pk}:r"))

    repair.refresh_from_db()
    assert repair.status == "rejected"
    assert PolicyDecision.objects.get(proposal=repair).decision == "reject"


def test_the_audit_trail_says_the_decision_came_through_chat(channel, pending, reviewer, post):
    linked(channel, reviewer, str(REVIEWER_ID), "@louis")

    send(post, channel, press(f"sh:{pending.pk}:a"))

    entry = LogEntry.objects.filter(user=reviewer, object_id=str(pending.pk)).latest("pk")
    assert channel_of(entry) == "chat"
    assert message_of(entry).startswith("Approved release")
    assert "telegram @louis" in message_of(entry)


def test_a_linked_person_without_the_role_is_refused(
    channel, pending, viewer, post, httpserver, worker_client
):
    linked(channel, viewer, str(REVIEWER_ID))

    send(post, channel, press(f"sh:{pending.pk}:a"))

    assert polled_status(worker_client, pending) == "pending"
    (answered,) = calls_to(httpserver, f"{API}/answerCallbackQuery")
    assert "may not decide" in answered["text"]


def test_an_expired_request_is_recorded_expired_and_loses_its_buttons(
    channel, pending, reviewer, post, httpserver, worker_client
):
    linked(channel, reviewer, str(REVIEWER_ID))
    type(pending).objects.filter(pk=pending.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )

    send(post, channel, press(f"sh:{pending.pk}:a"))

    assert polled_status(worker_client, pending) == "expired"
    assert calls_to(httpserver, f"{API}/editMessageReplyMarkup")


def test_an_unlinked_identity_decides_nothing(channel, pending, reviewer, owner, post, client):
    identity = linked(channel, reviewer, str(REVIEWER_ID))
    client.force_login(owner)

    client.post(f"/admin/notifications/chatidentity/{identity.pk}/delete/", {"post": "yes"})
    send(post, channel, press(f"sh:{pending.pk}:a"))

    assert not ChatIdentity.objects.exists()
    pending.refresh_from_db()
    assert pending.status == "pending"
    assert LogEntry.objects.filter(user=owner, change_message__contains="Unlinked").exists()


def test_without_a_verifiable_secret_reports_carry_no_buttons(
    chat_channel, httpserver, worker_client
):
    channel = chat_channel("telegram")
    channel.interaction_secret = ""
    channel.save()
    httpserver.expect_request(f"{API}/sendMessage").respond_with_json({"ok": True})
    worker_client.post("/api/v1/worker-repair-events", event_body(action="release"), format="json")

    outbox_drain_channel(channel_id=channel.pk, follow_up=False)

    (sent,) = calls_to(httpserver, f"{API}/sendMessage")
    assert "reply_markup" not in sent


def test_a_channel_taking_no_interactions_answers_404(chat_channel, post):
    channel = chat_channel("telegram")
    channel.interaction_secret = ""
    channel.save()

    response = post(channel, b"{}", "application/json")

    assert response.status_code == 404
