"""Channel credentials reach only the provider: never a message body, a log line, the
console's pages, an error text or a channel's string form."""

import logging

import pytest
from django.urls import reverse

from notifications.models import Channel, OwnerReport
from notifications.services import report_enqueue
from tests.notifications.conftest import LINE_TOKEN, TELEGRAM_TOKEN, answer, drain

DISCORD_URL_PATH = "/discord/123456789012345678/Zx9-webhook-token-do-not-leak"
SECRETS = [TELEGRAM_TOKEN, LINE_TOKEN, "hmac-key-do-not-leak", "Zx9-webhook-token-do-not-leak"]


@pytest.fixture
def channels(make_channel, httpserver) -> list[Channel]:
    return [
        make_channel("discord", kind="discord", url=httpserver.url_for(DISCORD_URL_PATH)),
        make_channel("tg", kind="telegram"),
        make_channel("line", kind="line"),
        make_channel("hook", signing_secret="hmac-key-do-not-leak"),
    ]


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def our_logs(caplog) -> str:
    """What this application logged (werkzeug's lines are the provider's own, not ours)."""
    return "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug"))


def test_secrets_are_not_in_message_bodies(db, httpserver, channels, caplog):
    caplog.set_level(logging.DEBUG)
    httpserver.expect_request(DISCORD_URL_PATH).respond_with_data("", status=204)
    for channel in channels[1:]:
        answer(httpserver, channel, 200)
    report_enqueue(source="worker.error", title="w1 errored", done="see logs")

    for channel in channels:
        drain(channel)

    assert set(OwnerReport.objects.values_list("state", flat=True)) == {"sent"}
    for request, _ in httpserver.log:
        assert_no_secret(request.get_data(as_text=True))
    assert_no_secret(our_logs(caplog))


@pytest.mark.parametrize("status", [401, 404, 500])
def test_secrets_are_not_in_error_texts_or_logs_when_a_provider_refuses(
    db, httpserver, channels, caplog, status
):
    caplog.set_level(logging.DEBUG)
    # A provider that echoes the request path, as real error pages sometimes do.
    httpserver.expect_request(DISCORD_URL_PATH).respond_with_data(
        f"no webhook at {DISCORD_URL_PATH}", status=status
    )
    echoes = {
        f"/telegram/bot{TELEGRAM_TOKEN}/sendMessage": f"no bot {TELEGRAM_TOKEN}",
        "/line/v2/bot/message/push": f"invalid token {LINE_TOKEN}",
        "/webhook/hook": "bad signature",
    }
    for path, text in echoes.items():
        httpserver.expect_request(path).respond_with_data(text, status=status)
    report_enqueue(source="worker.error", title="w1 errored")

    for channel in channels:
        drain(channel)

    tried = OwnerReport.objects.filter(attempts__gt=0)
    assert tried.count() >= len(channels)
    for text in tried.values_list("last_error", flat=True):
        assert text
        assert_no_secret(text)
    for text in Channel.objects.values_list("last_error", flat=True):
        assert_no_secret(text)
    for report in OwnerReport.objects.filter(source="channel.failed"):
        assert_no_secret(f"{report.title} {report.done} {report.next_step}")
    assert_no_secret(our_logs(caplog))


def test_secrets_are_not_in_connection_errors(db, make_channel, caplog):
    caplog.set_level(logging.DEBUG)
    channel = make_channel(
        "tg", kind="telegram", api_base="http://127.0.0.1:9"
    )  # nothing listens: requests' message names the URL, with the token in it
    report_enqueue(source="worker.error", title="w1 errored")

    drain(channel)

    (error,) = OwnerReport.objects.values_list("last_error", flat=True)
    assert "ConnectionError" in error
    assert TELEGRAM_TOKEN not in error
    assert TELEGRAM_TOKEN not in our_logs(caplog)


def test_secrets_are_not_in_the_console_or_the_channel_string(db, client, owner, channels):
    client.force_login(owner)

    pages = [
        client.get(reverse("admin:notifications_channel_changelist")),
        *(client.get(reverse("admin:notifications_channel_change", args=[c.pk])) for c in channels),
        client.get(reverse("admin:notifications_ownerreport_changelist")),
    ]

    for page in pages:
        assert page.status_code == 200
        assert_no_secret(page.content.decode())
    for channel in channels:
        assert_no_secret(f"{channel} {channel!r} {channel.destination}")


def test_a_blank_secret_field_keeps_the_stored_secret(db, client, owner, channels):
    hook = channels[3]
    client.force_login(owner)

    response = client.post(
        reverse("admin:notifications_channel_change", args=[hook.pk]),
        {
            "name": "hook",
            "kind": "webhook",
            "enabled": "on",
            "min_status": "warning",
            "url": "",
            "token": "",
            "signing_secret": "",
        },
    )

    assert response.status_code == 302
    hook.refresh_from_db()
    assert hook.signing_secret == "hmac-key-do-not-leak"
    assert hook.url.endswith("/webhook/hook")
    assert hook.min_status == "warning"


def test_a_new_secret_replaces_the_stored_one(db, client, owner, channels):
    hook = channels[3]
    client.force_login(owner)

    client.post(
        reverse("admin:notifications_channel_change", args=[hook.pk]),
        {
            "name": "hook",
            "kind": "webhook",
            "enabled": "on",
            "min_status": "normal",
            "signing_secret": "rotated-key",
        },
    )

    hook.refresh_from_db()
    assert hook.signing_secret == "rotated-key"


def test_a_secret_a_caller_quotes_is_redacted_before_the_report_is_stored(db):
    from notifications.services import report_enqueue

    (report,) = report_enqueue(
        source="stuck_claim",
        title="codex-7 stuck",
        progress="ran: curl -H 'Authorization: Bearer ghp_abcdefghijklmnopqrstuvwxyz0123456789'",
    )

    report.refresh_from_db()
    assert "ghp_" not in report.progress
    assert "[REDACTED:" in report.progress
