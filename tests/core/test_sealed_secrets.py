"""Secrets are sealed with PLS_SECRET_ENCRYPTION_KEYS, and survive a key rotation done as the
README says: a new key first, ``reseal_secrets``, then the old key dropped."""

import io
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from rest_framework.test import APIClient

from core.secrets import SecretUnreadable, Unopened, generate_key, opened
from notifications.models import Channel
from notifications.services import channel_webhook_secret_rotate
from repairs.services import worker_callback_secret_rotate
from tests.factories import ChannelFactory, WorkerFactory, event_body, issue_token

pytestmark = pytest.mark.django_db


def test_rotating_the_encryption_keys_keeps_every_secret_readable(settings):
    old_key, new_key = generate_key(), generate_key()
    settings.PLS_SECRET_ENCRYPTION_KEYS = [old_key]
    channel = ChannelFactory(url="https://hooks.example.com/T0/B0/secret-path")
    channel_secret = channel_webhook_secret_rotate(channel=channel)
    worker = WorkerFactory()
    worker_secret = worker_callback_secret_rotate(worker=worker)

    settings.PLS_SECRET_ENCRYPTION_KEYS = [new_key, old_key]
    out = io.StringIO()
    call_command("reseal_secrets", stdout=out)
    settings.PLS_SECRET_ENCRYPTION_KEYS = [new_key]

    channel.refresh_from_db()
    worker.refresh_from_db()
    assert channel.webhook_secret == channel_secret
    assert channel.url == "https://hooks.example.com/T0/B0/secret-path"
    assert worker.webhook_secret == worker_secret
    assert "notifications.Channel: 1 row(s) resealed" in out.getvalue()


def test_a_secret_sealed_under_a_dropped_key_is_refused_not_misread(settings):
    settings.PLS_SECRET_ENCRYPTION_KEYS = [generate_key()]
    channel = ChannelFactory()
    channel_webhook_secret_rotate(channel=channel)

    settings.PLS_SECRET_ENCRYPTION_KEYS = [generate_key()]

    unopened = Channel.objects.get(pk=channel.pk).webhook_secret
    assert isinstance(unopened, Unopened)
    assert unopened == ""
    with pytest.raises(SecretUnreadable):
        opened(unopened)  # what signs must not go out unsigned


def test_resealing_refuses_to_call_a_secret_no_key_opens_done(settings):
    settings.PLS_SECRET_ENCRYPTION_KEYS = [generate_key()]
    ChannelFactory()

    settings.PLS_SECRET_ENCRYPTION_KEYS = [generate_key()]
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 row"):
        call_command("reseal_secrets", stdout=io.StringIO(), stderr=err)

    assert "url, signing_secret opened by no key, kept as stored" in err.getvalue()


def test_a_worker_s_report_opens_none_of_its_secrets(settings, caplog):
    worker = WorkerFactory()
    worker_callback_secret_rotate(worker=worker)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token(worker)}")
    settings.PLS_SECRET_ENCRYPTION_KEYS = [generate_key()]  # the secret now opens under none

    answer = client.post("/api/v1/worker-repair-events", event_body(), format="json")

    assert answer.status_code == 201
    assert not [r for r in caplog.records if r.name == "core.secrets"]


def test_a_previous_secret_past_its_window_is_not_opened(settings):
    channel = ChannelFactory()
    secret = channel_webhook_secret_rotate(channel=channel)
    foreign = Fernet(generate_key().encode()).encrypt(b"whsec_old").decode()
    now = timezone.now()
    Channel.objects.filter(pk=channel.pk).update(
        webhook_secret_previous=Unopened(foreign),  # written as it is: sealed by no key here
        webhook_secret_previous_until=now - timedelta(seconds=1),
    )
    channel = Channel.objects.get(pk=channel.pk)

    assert channel.webhook_secrets(now) == [secret]
    assert channel.unopened_secrets() == []
    with pytest.raises(SecretUnreadable):  # inside the window it would sign: refused
        channel.webhook_secrets(now - timedelta(seconds=2))
