"""Handled callback ids and spent link codes age out after PLS_RETAIN_CHAT_CALLBACKS_DAYS;
a code still in its ten minutes and recent callback ids stay."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.retention import retention_purge
from notifications.chat import chat_callback_first_seen, chat_link_code_issue
from notifications.models import ChatCallbackSeen, ChatLinkCode
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


def test_old_callback_ids_and_codes_go_recent_ones_stay(settings, reviewer):
    settings.PLS_RETAIN_CHAT_CALLBACKS_DAYS = 30
    channel = ChannelFactory()
    now = timezone.now()
    chat_callback_first_seen(channel=channel, event_id="update:1")
    ChatCallbackSeen.objects.update(seen_at=now - timedelta(days=31))
    chat_callback_first_seen(channel=channel, event_id="update:2")
    chat_link_code_issue(user=reviewer, now=now - timedelta(days=31))
    chat_link_code_issue(user=reviewer, now=now)

    purged = retention_purge(now=now, only=["chat_callbacks"])

    assert purged["chat_callbacks"].removed == 2
    assert list(ChatCallbackSeen.objects.values_list("event_id", flat=True)) == ["update:2"]
    assert ChatLinkCode.objects.count() == 1
    assert not chat_callback_first_seen(channel=channel, event_id="update:2")
