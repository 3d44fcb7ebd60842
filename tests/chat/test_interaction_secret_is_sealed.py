"""The interaction secret is set in the channel form, stored sealed and never shown back;
a blank field keeps it."""

import pytest
from django.urls import reverse

from notifications.models import Channel
from tests.sealed import stored_row

pytestmark = pytest.mark.django_db
SECRET = "telegram-webhook-secret-token-do-not-show"


def test_the_owner_sets_the_secret_and_never_sees_it_again(client, owner):
    client.force_login(owner)
    form = {
        "name": "ops-telegram",
        "kind": "telegram",
        "enabled": "on",
        "min_status": "normal",
        "token": "7000000003:AAH",
        "target": "-100",
        "new_interaction_secret": SECRET,
    }

    client.post(reverse("admin:notifications_channel_add"), form)

    channel = Channel.objects.get(name="ops-telegram")
    assert SECRET not in stored_row(channel)
    assert channel.interaction_secret == SECRET
    assert channel.takes_interactions
    page = client.get(reverse("admin:notifications_channel_change", args=[channel.pk]))
    assert SECRET not in page.content.decode()

    client.post(
        reverse("admin:notifications_channel_change", args=[channel.pk]),
        {**form, "new_interaction_secret": "", "token": ""},
    )

    channel.refresh_from_db()
    assert channel.interaction_secret == SECRET
