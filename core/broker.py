"""Publishing Celery tasks from a request without ever holding it up.

Requests ask Celery for work once their transaction commits (drain the outbox, send a
callback). Celery's own publishing retries a refused connection until the broker connection
timeout runs out: seconds a request would wait on every commit while the broker is down.
Here a publish tries once, with short timeouts, on a connection kept per thread; after a
failure, publishing pauses for a while, so an outage costs one request at most the timeout
and the others nothing. Whatever was not published is still in the database, and a beat
sweep publishes it once the broker is back.
"""

import logging
import os
import threading
import time
from collections.abc import Sequence

from celery import Celery, Task
from django.conf import settings
from kombu import Connection

logger = logging.getLogger(__name__)

_local = threading.local()
_paused_until = 0.0  # time.monotonic() before which no publish is tried (per process)


def _reset_after_fork() -> None:
    # A forked child must not write to its parent's broker socket.
    global _local, _paused_until
    _local = threading.local()
    _paused_until = 0.0


os.register_at_fork(after_in_child=_reset_after_fork)


def _connection(app: Celery) -> Connection:
    # The task's own app: the kernel never imports the project's Celery wiring (config.celery).
    connection = getattr(_local, "connection", None)
    if connection is None:
        timeout = settings.PLS_BROKER_PUBLISH_TIMEOUT_SECONDS
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


def reset() -> None:
    """Forgets this thread's connection and any pause: the next publish tries at once."""
    global _paused_until
    _paused_until = 0.0
    _drop_connection()


def paused() -> bool:
    """Whether publishing is paused after a failure: callers may skip work they would only do
    to publish (the sweep covers it)."""
    return time.monotonic() < _paused_until


def publish(task: Task, arg_lists: Sequence[Sequence[object]]) -> int:
    """Sends ``task`` once per argument list, in order; returns how many were sent, which is
    fewer than asked, at once, when the broker is unavailable. Never raises."""
    global _paused_until
    if not arg_lists:
        return 0
    if paused():
        return 0
    sent = 0
    error: Exception | None = None
    # A kept connection may have gone stale since its last use: one retry on a fresh one.
    for _attempt in range(2):
        try:
            connection = _connection(task.app)
            while sent < len(arg_lists):
                task.apply_async(args=list(arg_lists[sent]), connection=connection, retry=False)
                sent += 1
            return sent
        except Exception as exc:  # any broker or transport error: the database keeps the work
            error = exc
            _drop_connection()
    _paused_until = time.monotonic() + settings.PLS_BROKER_PAUSE_SECONDS
    logger.warning(
        "could not publish %s (%s: %s); not trying again for %s s, a beat sweep sends it",
        task.name,
        type(error).__name__,
        error,
        settings.PLS_BROKER_PAUSE_SECONDS,
    )
    return sent
