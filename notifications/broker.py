"""Asking Celery to drain a channel without ever holding the caller up, or asking twice.

``report_enqueue`` runs inside requests; once their transaction commits, they ask Celery to
drain. Celery's own publishing retries a refused connection until the broker connection
timeout runs out, seconds a request would wait on every commit while the broker is down.
Here a publish tries once, with short timeouts, on a connection kept per thread; after a
failure, publishing pauses for a while (the beat sweep sends the reports meanwhile), so an
outage costs one request at most the timeout, and the others nothing.

A drain task already waiting in the queue for a channel will send every report committed
before it starts, so while one waits no other is published for that channel: a burst of a
thousand reports costs a few drain tasks, not a thousand. The mark is a cache key the task
clears as it starts; it expires by itself, and the beat sweep publishes regardless of it, so
a task lost with its broker never silences a channel for long.
"""

import logging
import os
import threading
import time
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from kombu import Connection

from config.celery import app

logger = logging.getLogger(__name__)

_local = threading.local()
_paused_until = 0.0  # time.monotonic() before which no publish is tried (per process)


def _reset_after_fork() -> None:
    # A forked child must not write to its parent's broker socket.
    global _local, _paused_until
    _local = threading.local()
    _paused_until = 0.0


os.register_at_fork(after_in_child=_reset_after_fork)


def _connection() -> Connection:
    connection = getattr(_local, "connection", None)
    if connection is None:
        timeout = settings.PLS_NOTIFY_BROKER_TIMEOUT_SECONDS
        connection = app.connection_for_write(
            connect_timeout=timeout,
            transport_options={
                # One connection attempt, not kombu's retries until the timeout runs out.
                "max_retries": 0,
                "socket_connect_timeout": timeout,
                "socket_timeout": timeout,
            },
        )
        _local.connection = connection
    return connection


def _drop_connection() -> None:
    connection = getattr(_local, "connection", None)
    _local.connection = None
    if connection is not None:
        try:
            connection.release()
        except Exception:  # already broken; nothing more to free
            logger.debug("closing a broken broker connection failed", exc_info=True)


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
    global _paused_until
    from notifications.tasks import drain_channel

    ids = [channel_id for channel_id in channel_ids if not coalesce or _mark_queued(channel_id)]
    if not ids:
        return True
    if time.monotonic() < _paused_until:
        _unmark_queued(ids)
        return False
    error: Exception | None = None
    # A kept connection may have gone stale since its last use: one retry on a fresh one.
    for _attempt in range(2):
        try:
            connection = _connection()
            while ids:
                drain_channel.apply_async(args=[ids[0]], connection=connection, retry=False)
                ids.pop(0)
            return True
        except Exception as exc:  # any broker or transport error: the outbox keeps the report
            error = exc
            _drop_connection()
    _unmark_queued(ids)
    _paused_until = time.monotonic() + settings.PLS_NOTIFY_BROKER_PAUSE_SECONDS
    logger.warning(
        "could not ask Celery to drain the outbox (%s: %s); not trying again for %s s, the "
        "beat sweep sends the reports",
        type(error).__name__,
        error,
        settings.PLS_NOTIFY_BROKER_PAUSE_SECONDS,
    )
    return False
