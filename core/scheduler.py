"""The scheduler's heartbeat: beat's tick task writes it, /ready reads how old it is.

Both ends share the default cache (Redis in production), so the web process can tell whether
the beat, in another process or on another host, is running.
"""

import time

from django.core.cache import cache

SCHEDULER_TICK_KEY = "pls:scheduler:last-tick"


def scheduler_tick_record() -> None:
    cache.set(SCHEDULER_TICK_KEY, time.time(), timeout=None)


def scheduler_tick_age() -> float | None:
    """Seconds since Celery beat last ran its tick task, None if it never has."""
    try:
        last = cache.get(SCHEDULER_TICK_KEY)
    except Exception:  # the cache is Redis, which may be the very thing that is down
        return None
    return None if last is None else round(time.time() - last, 1)
