"""A channel's URL, token and signing secrets are sealed at rest (core.secrets.SealedField):
read in clear by the code that sends, stored sealed, and sealed by the migration where an
older version stored them in clear. A secret that no configured key opens is never used and
never lost: its reports wait, and putting the key back sends them."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse

from core.secrets import Unopened, generate_key
from notifications.models import Channel, OwnerReport
from tests.notifications.conftest import TELEGRAM_TOKEN, answer, drain, raise_reports, received
from tests.sealed import stored_row

pytestmark = pytest.mark.django_db

MIGRATION = importlib.import_module("notifications.migrations.0012_sealed_secrets")
# What the migration's functions use of their schema editor (SQLite's own cannot be opened
# inside a test's transaction).
EDITOR = SimpleNamespace(connection=connection)


def test_credentials_are_stored_sealed_and_read_in_clear(make_channel):
    hook = make_channel("hook", signing_secret="legacy-hmac-key-do-not-leak")
    bot = make_channel("bot", kind="telegram")

    hook_row, bot_row = stored_row(hook), stored_row(bot)

    assert hook.url.split("//")[1] not in hook_row
    assert "legacy-hmac-key-do-not-leak" not in hook_row
    assert TELEGRAM_TOKEN not in bot_row
    assert Channel.objects.get(pk=hook.pk).url == hook.url
    assert Channel.objects.get(pk=bot.pk).token == TELEGRAM_TOKEN
    assert Channel.objects.filter(token="").count() == 1  # blank stays blank: the webhook


def test_the_migration_seals_what_an_older_version_stored_in_clear(make_channel):
    channel = make_channel("hook", signing_secret="legacy-hmac-key-do-not-leak")
    url = channel.url
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE notifications_channel SET url = %s, signing_secret = %s WHERE id = %s",
            [url, "legacy-hmac-key-do-not-leak", channel.pk],
        )

    MIGRATION.seal_in_clear(apps, EDITOR)
    sealed = stored_row(channel)
    MIGRATION.seal_in_clear(apps, EDITOR)  # a second run leaves sealed values alone
    assert stored_row(channel) == sealed

    assert url not in sealed
    assert "legacy-hmac-key-do-not-leak" not in sealed
    channel.refresh_from_db()
    assert (channel.url, channel.signing_secret) == (url, "legacy-hmac-key-do-not-leak")

    MIGRATION.open_sealed(apps, EDITOR)
    assert url in stored_row(channel)


def test_a_url_no_key_opens_holds_its_reports_until_the_key_is_back(
    settings, httpserver, make_channel, client, owner
):
    sealing_key = generate_key()
    settings.PLS_SECRET_ENCRYPTION_KEYS = [sealing_key]
    channel = make_channel("hook")
    answer(httpserver, channel)
    raise_reports(1)

    settings.PLS_SECRET_ENCRYPTION_KEYS = [generate_key()]  # dropped before resealing
    channel = Channel.objects.get(pk=channel.pk)
    assert isinstance(channel.url, Unopened)
    assert channel.unopened_secrets() == ["url", "signing_secret"]
    drain(channel)

    assert received(httpserver, channel) == []
    (report,) = OwnerReport.objects.filter(channel=channel)
    assert report.state == OwnerReport.State.PENDING
    assert "url, signing_secret cannot be opened" in report.last_error
    client.force_login(owner)
    form = client.get(reverse("admin:notifications_channel_change", args=[channel.pk]))
    assert "PLS_SECRET_ENCRYPTION_KEYS" in form.content.decode()  # "… enter it again"
    channel.save()  # saved meanwhile: what no key opens is written back as it was

    settings.PLS_SECRET_ENCRYPTION_KEYS = [generate_key(), sealing_key]
    Channel.objects.filter(pk=channel.pk).update(retry_at=None)
    drain(Channel.objects.get(pk=channel.pk))

    assert len(received(httpserver, channel)) == 1


def test_routing_a_report_opens_no_credential(settings, make_channel, caplog):
    make_channel("hook")
    settings.PLS_SECRET_ENCRYPTION_KEYS = [generate_key()]  # every secret now opens under none

    (report,) = raise_reports(1)

    assert report.channel.name == "hook"
    assert not [r for r in caplog.records if r.name == "core.secrets"]


def test_saving_a_channel_writes_the_secrets_it_did_not_read_back_unchanged(make_channel):
    channel = make_channel("hook", signing_secret="legacy-hmac-key-do-not-leak")
    before = stored_row(channel, "url", "signing_secret")
    loaded = Channel.objects.get(pk=channel.pk)

    loaded.save()

    # Not sealed again: the same text, byte for byte.
    assert stored_row(channel, "url", "signing_secret") == before
    loaded.url = "https://hooks.example.com/new"
    loaded.save()
    assert stored_row(channel, "url", "signing_secret") != before
    assert Channel.objects.get(pk=channel.pk).url == "https://hooks.example.com/new"
