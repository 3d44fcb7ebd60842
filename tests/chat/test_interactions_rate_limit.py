"""The chat interactions endpoint is limited per channel (PLS_CHANNEL_RATE_LIMIT), as the
rest of the API is per worker: a channel over its rate is answered 429 with Retry-After
while another channel is served, and within the rate a bad signature is still a 401."""

import pytest

from tests.chat.conftest import SECRET, TELEGRAM_TOKEN
from tests.chat.test_telegram import say, send
from tests.test_rate_limit import own_counts, rate  # noqa: F401 - a fixture, used by name

pytestmark = pytest.mark.django_db


@pytest.fixture
def telegram(chat_channel, httpserver):
    """Two Telegram channels whose API (answers to what people say) is the local server."""
    httpserver.expect_request(f"/telegram/bot{TELEGRAM_TOKEN}/sendMessage").respond_with_json(
        {"ok": True, "result": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}}}
    )
    return chat_channel("telegram", name="busy"), chat_channel("telegram", name="quiet")


@pytest.mark.usefixtures("own_counts")
def test_a_channel_over_its_rate_gets_429_while_another_is_served(settings, telegram, post):
    period = rate(settings, "3/min", "PLS_CHANNEL_RATE_LIMIT")
    busy, quiet = telegram

    forged = send(post, busy, say("hello"), secret="guessed")
    signed = [send(post, busy, say("hello")) for _ in range(3)]
    other = send(post, quiet, say("hello"))

    assert forged.status_code == 401
    assert forged["Content-Type"] == "application/problem+json"
    assert forged.json()["type"].endswith("/bad-signature")
    # The forged request counted: the limit bounds what anyone makes a channel cost.
    assert [response.status_code for response in signed] == [200, 200, 429]
    refused = signed[-1]
    assert refused["Content-Type"] == "application/problem+json"
    assert 1 <= int(refused["Retry-After"]) <= period
    assert refused.json()["status"] == 429 and refused.json()["type"].endswith("/throttled")
    assert other.status_code == 200


@pytest.mark.usefixtures("own_counts")
def test_without_a_rate_a_channel_is_not_limited(settings, telegram, post):
    settings.PLS_CHANNEL_RATE_LIMIT = ""
    busy, _ = telegram

    assert {send(post, busy, say("hello")).status_code for _ in range(5)} == {200}


def test_a_get_is_a_405_problem_naming_post(telegram, client):
    busy, _ = telegram

    response = client.get(f"/api/v1/channels/{busy.pk}/interactions")

    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"
    assert "POST" in response["Allow"]
    assert SECRET not in response.content.decode()
