"""Asking Celery to drain a channel without holding the caller up (``core.broker``), or
asking twice.

A drain task already waiting in the queue for a channel will send every report committed
before it starts, so while one waits no other is published for that channel: a burst of a
thousand reports costs a few drain tasks, not a thousand. The mark is a cache key the task
clears as it starts; it expires by itself, and the beat sweep publishes regardless of it, so
a task lost with its broker never silences a channel for long.
"""

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache

from core import broker

logger = logging.getLogger(__name__)


def _queued_key(channel_id: int) -> str:
    return f"pls:outbox:drain-queued:{channel_id}"


def _mark_queued(channel_id: int) -> bool:
    """True if no drain task is known to be waiting for this channel (and now one is)."""
    try:
        return cache.add(_queued_key(channel_id), 1, timeout=settings.PLS_NOTIFY_LEASE_SECONDS)
    except Exception:  # no cache: publish anyway, a spare task costs one idle run
        return True


def _unmark_queued(channel_ids: Iterable[int]) -> None:
    try:
        cache.delete_many([_queued_key(channel_id) for channel_id in channel_ids])
    except Exception:  # the marks expire by themselves
        logger.debug("could not clear drain-queued marks", exc_info=True)


def drain_started(channel_id: int) -> None:
    """Called by the drain task as it starts: reports committed from now on need a new task."""
    _unmark_queued([channel_id])


def publish_drains(channel_ids: Iterable[int], *, coalesce: bool = True) -> bool:
    """Sends a drain task for each channel that has none waiting (each channel, without
    ``coalesce``); False, at once, when the broker is unavailable."""
    from notifications.tasks import drain_channel

    if broker.paused():
        # The broker failed moments ago: nothing would be sent, so the marks are not even
        # asked for (with Redis as both, a hung cache would cost every report a timeout).
        return False
    ids = [channel_id for channel_id in channel_ids if not coalesce or _mark_queued(channel_id)]
    sent = broker.publish(drain_channel, [[channel_id] for channel_id in ids])
    if sent < len(ids):
        _unmark_queued(ids[sent:])
        return False
    return True
