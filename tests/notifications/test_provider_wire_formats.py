"""Each provider receives the message in its own format, and its answers are read right."""

import hmac
import json
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from werkzeug import Response

from core.http import USER_AGENT, sign
from notifications.services import report_enqueue
from tests.notifications.conftest import LINE_TOKEN, answer, drain, received, states


def raise_one(**fields):
    return report_enqueue(
        source="budget.80",
        title="Team alpha used 80% of its budget <@here> & more",
        status="warning",
        team="alpha",
        worker="codex-1",
        progress="80% of 500 USD",
        **fields,
    )


def test_discord_gets_content_without_mentions(db, httpserver, make_channel):
    channel = make_channel("discord", kind="discord")
    answer(httpserver, channel, 204)
    raise_one()

    drain(channel)

    (body,) = received(httpserver, channel)
    assert body["content"].startswith("[WARNING] Team alpha used 80% of its budget")
    assert "Progress: 80% of 500 USD" in body["content"]
    assert body["allowed_mentions"] == {"parse": []}
    request, _ = httpserver.log[0]
    assert request.headers["User-Agent"] == USER_AGENT
    assert states(channel) == ["sent"]


def test_discord_long_reports_are_cut_to_its_limit(db, httpserver, make_channel):
    channel = make_channel("discord", kind="discord")
    answer(httpserver, channel, 204)
    report_enqueue(source="worker.error", title="x", done="y" * 5000)

    drain(channel)

    (body,) = received(httpserver, channel)
    assert len(body["content"]) == 2000
    assert body["content"].endswith("…")


def test_slack_gets_text_with_its_markup_characters_escaped(db, httpserver, make_channel):
    channel = make_channel("slack", kind="slack")
    httpserver.expect_request("/slack/slack", method="POST").respond_with_data("ok")
    raise_one()

    drain(channel)

    (body,) = received(httpserver, channel)
    assert "&lt;@here&gt; &amp; more" in body["text"]
    assert states(channel) == ["sent"]


def test_telegram_gets_chat_id_and_plain_text_at_the_bot_path(db, httpserver, make_channel):
    channel = make_channel("tg", kind="telegram")
    answer(httpserver, channel, 200, json={"ok": True, "result": {"message_id": 1}})
    raise_one()

    drain(channel)

    (body,) = received(httpserver, channel)
    assert body["chat_id"] == "-100123"
    assert "parse_mode" not in body
    assert body["text"].startswith("[WARNING]")
    assert states(channel) == ["sent"]


def test_telegram_ok_false_is_not_a_success(db, httpserver, make_channel):
    channel = make_channel("tg", kind="telegram")
    answer(httpserver, channel, 200, json={"ok": False})
    raise_one()

    drain(channel)

    assert states(channel) == ["pending"]


def test_line_gets_a_bearer_push_with_a_stable_retry_key(db, httpserver, make_channel):
    channel = make_channel("line", kind="line")
    answer(httpserver, channel, 503)
    raise_one()

    drain(channel)
    channel.retry_at = None
    channel.save(update_fields=["retry_at"])
    drain(channel)

    requests = [request for request, _ in httpserver.log]
    assert len(requests) == 2
    assert requests[0].headers["Authorization"] == f"Bearer {LINE_TOKEN}"
    keys = {request.headers["X-Line-Retry-Key"] for request in requests}
    assert len(keys) == 1  # the same key on every attempt: LINE drops a repeat
    uuid.UUID(keys.pop())
    body = requests[0].get_json()
    assert body["to"] == "U123"
    assert body["messages"][0]["type"] == "text"


def test_line_409_for_an_already_accepted_retry_is_a_success(db, httpserver, make_channel):
    channel = make_channel("line", kind="line")
    httpserver.expect_request("/line/v2/bot/message/push").respond_with_json(
        {"message": "The retry key is already accepted"},
        status=409,
        headers={"x-line-accepted-request-id": "abc"},
    )
    raise_one()

    drain(channel)

    assert states(channel) == ["sent"]


def test_a_webhook_opted_into_the_legacy_signature_gets_it_over_the_exact_bytes(
    db, httpserver, make_channel
):
    channel = make_channel("hook", signing_secret="s3cret-hmac-key", legacy_signature=True)
    answer(httpserver, channel, 200)
    (report,) = raise_one(task_id="JOB-7")

    drain(channel)

    request, _ = httpserver.log[0]
    raw = request.get_data()
    expected = sign(raw, b"s3cret-hmac-key")
    assert hmac.compare_digest(request.headers["X-PLS-Signature"], expected)
    assert request.headers["X-PLS-Report-Id"] == str(report.pk)
    assert request.headers["X-PLS-Event"] == "budget.80"
    body = json.loads(raw)
    assert body["id"] == report.pk
    assert (body["status"], body["team"], body["task_id"]) == ("warning", "alpha", "JOB-7")
    assert body["next"] == ""
    assert "s3cret-hmac-key" not in raw.decode()


def test_email_goes_through_the_django_mail_backend(db, make_channel):
    channel = make_channel("mail", kind="email", target="owner@example.com, ops@example.com")
    raise_one()

    drain(channel)

    (message,) = mail.outbox
    assert message.to == ["owner@example.com", "ops@example.com"]
    assert message.subject.startswith("[PLS] [WARNING] Team alpha used 80%")
    assert "Progress: 80% of 500 USD" in message.body
    assert states(channel) == ["sent"]


@pytest.mark.parametrize("kind", ["webhook", "discord", "slack"])
def test_429_with_retry_after_backs_off_at_least_that_long(db, httpserver, make_channel, kind):
    channel = make_channel("limited", kind=kind)
    httpserver.expect_request(f"/{kind}/limited").respond_with_json(
        {"message": "slow down"}, status=429, headers={"Retry-After": "120"}
    )
    raise_one()

    result = drain(channel)

    channel.refresh_from_db()
    assert result.stopped == "error"
    assert states(channel) == ["pending"]
    wait = channel.retry_at - timezone.now()
    assert timedelta(seconds=115) < wait <= timedelta(seconds=120)


def test_discord_429_retry_after_in_the_body_is_respected(db, httpserver, make_channel):
    channel = make_channel("limited", kind="discord")
    httpserver.expect_request("/discord/limited").respond_with_response(
        Response(json.dumps({"retry_after": 64.5, "global": False}), status=429)
    )
    raise_one()

    drain(channel)

    channel.refresh_from_db()
    assert timedelta(seconds=60) < channel.retry_at - timezone.now() <= timedelta(seconds=65)


def test_a_redirect_is_not_followed(db, httpserver, make_channel):
    channel = make_channel("moved")
    httpserver.expect_request("/webhook/moved").respond_with_response(
        Response(status=301, headers={"Location": "http://elsewhere.invalid/hook"})
    )
    raise_one()

    drain(channel)

    assert states(channel) == ["failed"]
    assert len(httpserver.log) == 1


def test_an_unreachable_mail_server_is_a_transient_error(db, make_channel, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9
    channel = make_channel("mail", kind="email")
    raise_one()

    result = drain(channel)

    assert result.stopped == "error"
    assert states(channel) == ["pending"]
