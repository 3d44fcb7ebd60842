"""``Channel.is_ready`` and ``Channel.objects.ready``: one rule (enabled, not muted, not backing
off) as a row check for the drain and as a filter for the sweep."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Channel
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def channels(now) -> dict[str, Channel]:
    hour = timedelta(hours=1)
    return {
        "plain": ChannelFactory(),
        "disabled": ChannelFactory(enabled=False),
        "muted": ChannelFactory(muted_until=now + hour),
        "mute_over": ChannelFactory(muted_until=now - hour),
        "backing_off": ChannelFactory(retry_at=now + hour),
        "backoff_over": ChannelFactory(retry_at=now - hour),
        "mute_ends_now": ChannelFactory(muted_until=now),
    }


def test_enabled_channels_neither_muted_nor_backing_off_are_ready(channels, now):
    ready = {name for name, channel in channels.items() if channel.is_ready(now)}

    assert ready == {"plain", "mute_over", "backoff_over", "mute_ends_now"}


def test_the_filter_finds_exactly_the_channels_the_row_check_calls_ready(channels, now):
    by_filter = set(Channel.objects.ready(now).values_list("pk", flat=True))
    by_row = {channel.pk for channel in Channel.objects.all() if channel.is_ready(now)}

    assert by_filter == by_row
    assert by_filter == {
        channels[name].pk for name in ("plain", "mute_over", "backoff_over", "mute_ends_now")
    }


def test_a_channel_that_is_not_ready_says_why(channels, now):
    assert channels["disabled"].unready_reason(now) == "disabled"
    assert channels["muted"].unready_reason(now).startswith("muted until ")
    assert channels["backing_off"].unready_reason(now).startswith("backing off until ")
    assert channels["plain"].unready_reason(now) == ""
