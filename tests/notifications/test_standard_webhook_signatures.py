"""Generic webhook deliveries carry Standard Webhooks signatures that the reference
verifier (the ``standardwebhooks`` package, as a receiver would use it) accepts; a rotated
secret's old signature only inside the overlap window; a replay older than the verifier's
tolerance is refused; the secret is shown once and stored sealed."""

from datetime import UTC, datetime, timedelta

import pytest
import standardwebhooks.webhooks as verifier_module
from django.urls import reverse
from standardwebhooks import Webhook, WebhookVerificationError

from notifications.models import Channel
from notifications.services import channel_webhook_secret_rotate, report_enqueue
from tests.notifications.conftest import answer, drain
from tests.sealed import stored_row

pytestmark = pytest.mark.django_db


def deliver(httpserver, channel: Channel, title: str = "Budget at 80 %"):
    answer(httpserver, channel, 200)
    report_enqueue(source="budget.80", title=title, status="warning", team="alpha")
    drain(channel)
    request, _ = httpserver.log[-1]
    return request.get_data(), dict(request.headers)


class _Later(datetime):
    """The verifier's clock, ``minutes`` after the delivery: a captured delivery replayed."""

    minutes = 0

    @classmethod
    def now(cls, tz=None):  # type: ignore[no-untyped-def]
        return datetime.now(tz) + timedelta(minutes=cls.minutes)


def test_a_delivery_verifies_with_the_reference_verifier(httpserver, make_channel):
    channel = make_channel("hook")
    secret = channel_webhook_secret_rotate(channel=channel)

    body, headers = deliver(httpserver, channel)

    payload = Webhook(secret).verify(body, headers)
    assert payload["title"] == "Budget at 80 %"
    assert secret.startswith("whsec_")
    assert headers["Webhook-Id"] == f"msg_pls_report_{payload['id']}"
    assert "X-Pls-Signature" not in headers  # new channels: the legacy signature is off


def test_another_secret_does_not_verify(httpserver, make_channel):
    channel = make_channel("hook")
    channel_webhook_secret_rotate(channel=channel)
    other = make_channel("other")
    someone_else = channel_webhook_secret_rotate(channel=other)

    body, headers = deliver(httpserver, channel)

    with pytest.raises(WebhookVerificationError):
        Webhook(someone_else).verify(body, headers)


def test_a_changed_body_does_not_verify(httpserver, make_channel):
    channel = make_channel("hook")
    secret = channel_webhook_secret_rotate(channel=channel)

    body, headers = deliver(httpserver, channel)

    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"alpha", b"omega"), headers)


def test_a_replay_older_than_the_tolerance_is_refused(httpserver, make_channel, monkeypatch):
    channel = make_channel("hook")
    secret = channel_webhook_secret_rotate(channel=channel)
    body, headers = deliver(httpserver, channel)

    monkeypatch.setattr(verifier_module, "datetime", _Later)
    _Later.minutes = 4
    Webhook(secret).verify(body, headers)  # late, but inside the 5 minutes
    _Later.minutes = 6
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(body, headers)


def test_during_the_overlap_both_secrets_sign_and_after_it_only_the_new_one(
    httpserver, make_channel
):
    channel = make_channel("hook")
    old = channel_webhook_secret_rotate(channel=channel)
    new = channel_webhook_secret_rotate(channel=channel, overlap=timedelta(hours=1))

    body, headers = deliver(httpserver, channel, "inside the window")
    assert len(headers["Webhook-Signature"].split(" ")) == 2
    Webhook(new).verify(body, headers)
    Webhook(old).verify(body, headers)

    Channel.objects.filter(pk=channel.pk).update(
        webhook_secret_previous_until=datetime.now(UTC) - timedelta(seconds=1)
    )
    body, headers = deliver(httpserver, channel, "after the window")
    assert len(headers["Webhook-Signature"].split(" ")) == 1
    Webhook(new).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(body, headers)


def test_a_rotation_without_overlap_retires_the_old_secret_at_once(httpserver, make_channel):
    channel = make_channel("hook")
    old = channel_webhook_secret_rotate(channel=channel)
    channel_webhook_secret_rotate(channel=channel, overlap=timedelta(0))

    body, headers = deliver(httpserver, channel)

    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(body, headers)


def test_the_secret_is_stored_sealed(make_channel):
    channel = make_channel("hook")
    secret = channel_webhook_secret_rotate(channel=channel)

    row = stored_row(channel)
    assert secret not in row
    assert secret.removeprefix("whsec_") not in row
    channel.refresh_from_db()
    assert channel.webhook_secret == secret


def test_the_console_shows_a_new_channels_secret_once(client, owner, httpserver):
    client.force_login(owner)

    page = client.post(
        reverse("admin:notifications_channel_add"),
        {
            "name": "receiver",
            "kind": "webhook",
            "enabled": "on",
            "min_status": "normal",
            "url": httpserver.url_for("/webhook/receiver"),
        },
    )

    assert page.status_code == 200
    channel = Channel.objects.get(name="receiver")
    secret = channel.webhook_secret
    assert secret in page.content.decode()
    assert not channel.legacy_signature
    edit = client.get(reverse("admin:notifications_channel_change", args=[channel.pk]))
    assert secret not in edit.content.decode()


def test_the_console_rotates_a_secret_and_shows_the_new_one(client, owner, make_channel):
    channel = make_channel("hook")
    old = channel_webhook_secret_rotate(channel=channel)
    client.force_login(owner)

    page = client.post(
        reverse("admin:notifications_channel_changelist"),
        {"action": "rotate_webhook_secret", "_selected_action": [channel.pk]},
    )

    channel.refresh_from_db()
    new = channel.webhook_secret
    assert new != old
    assert new in page.content.decode()
    assert old not in page.content.decode()
    assert channel.webhook_secret_previous == old
