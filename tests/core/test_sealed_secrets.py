"""Signing secrets are sealed with PLS_SECRET_ENCRYPTION_KEYS, and survive a key rotation done
as the README says: a new key first, ``reseal_secrets``, then the old key dropped."""

import io

import pytest
from django.core.management import call_command

from core.secrets import SecretUnreadable, generate_key, unseal
from notifications.models import Channel
from notifications.services import channel_webhook_secret_rotate
from repairs.services import worker_callback_secret_rotate
from tests.factories import ChannelFactory, WorkerFactory

pytestmark = pytest.mark.django_db


def test_rotating_the_encryption_keys_keeps_every_secret_readable(settings):
    old_key, new_key = generate_key(), generate_key()
    settings.PLS_SECRET_ENCRYPTION_KEYS = [old_key]
    channel = ChannelFactory()
    channel_secret = channel_webhook_secret_rotate(channel=channel)
    worker = WorkerFactory()
    worker_secret = worker_callback_secret_rotate(worker=worker)

    settings.PLS_SECRET_ENCRYPTION_KEYS = [new_key, old_key]
    out = io.StringIO()
    call_command("reseal_secrets", stdout=out)
    settings.PLS_SECRET_ENCRYPTION_KEYS = [new_key]

    channel.refresh_from_db()
    worker.refresh_from_db()
    assert unseal(channel.webhook_secret) == channel_secret
    assert unseal(worker.webhook_secret) == worker_secret
    assert "notifications.Channel: 1 row(s) resealed" in out.getvalue()


def test_a_secret_sealed_under_a_dropped_key_is_refused_not_misread(settings):
    settings.PLS_SECRET_ENCRYPTION_KEYS = [generate_key()]
    channel = ChannelFactory()
    channel_webhook_secret_rotate(channel=channel)

    settings.PLS_SECRET_ENCRYPTION_KEYS = [generate_key()]

    with pytest.raises(SecretUnreadable):
        unseal(Channel.objects.get(pk=channel.pk).webhook_secret)
