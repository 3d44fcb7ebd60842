"""A refused callback is logged, and so is an answer the provider did not take, without the
channel's secret or bot token."""

import logging

import pytest

from tests.chat.conftest import SECRET, TELEGRAM_TOKEN, linked, polled_status
from tests.chat.test_telegram import REVIEWER_ID, press, send

pytestmark = pytest.mark.django_db


def our_logs(caplog) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug"))


def test_a_bad_signature_is_logged_without_the_secret(chat_channel, pending, post, caplog):
    channel = chat_channel("telegram")
    caplog.set_level(logging.DEBUG)

    send(post, channel, press(f"sh:{pending.pk}:a"), secret=SECRET[:-1])

    logged = our_logs(caplog)
    assert f"interaction for channel {channel.name} refused" in logged
    assert SECRET not in logged and SECRET[:-1] not in logged


def test_a_provider_that_does_not_answer_costs_the_confirmation_not_the_decision(
    chat_channel, pending, reviewer, post, worker_client, caplog
):
    channel = chat_channel("telegram", api_base="http://127.0.0.1:9")  # nothing listens
    linked(channel, reviewer, str(REVIEWER_ID))
    caplog.set_level(logging.DEBUG)

    response = send(post, channel, press(f"sh:{pending.pk}:a"))

    assert response.status_code == 200
    assert polled_status(worker_client, pending) == "approved"
    logged = our_logs(caplog)
    assert "answering in chat failed" in logged
    assert TELEGRAM_TOKEN not in logged
