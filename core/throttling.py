"""The API's per-worker rate limit: a worker (or person) sending requests faster than
``PLS_WORKER_RATE_LIMIT`` gets ``429`` with ``Retry-After`` while everyone else is served.
The chat interactions endpoint, which no user signs, is limited per channel in the same
way (``PLS_CHANNEL_RATE_LIMIT``).

One fixed-window counter per caller in the cache, shared by every web process. On Redis a
request costs one round trip (``INCR`` and ``EXPIRE`` pipelined on a key named after the
window, so no read-modify-write and no race between processes); DRF's SimpleRateThrottle
would read and rewrite a list of up to ``limit`` timestamps per request, and lose counts when
two processes interleave. A fixed window lets a caller send up to twice the limit across a
window edge; for a guard against runaway loops that is good enough, and it keeps the count
one integer.

A cache that fails (Redis down or hanging) lets requests through: a worker's report must
never be refused because the rate limiter cannot count. After a failure the limiter stops
asking the cache for a few seconds, so an outage costs one request a cache timeout, not all.

Nothing here imports Django REST framework: ``config.settings`` imports ``parse_rate`` to
refuse a malformed rate at start. DRF needs of a throttle only ``allow_request`` and
``wait``.
"""

import functools
import logging
import math
import re
import time
import weakref
from typing import Any

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext

logger = logging.getLogger(__name__)

_RATE = re.compile(
    r"(?P<count>\d+)\s*/\s*(?P<length>\d*)\s*(?P<unit>s|sec|second|m|min|minute|h|hour|d|day)s?"
)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# After the cache failed, this many seconds of requests are let through without asking it.
_CACHE_PAUSE_SECONDS = 5.0
_cache_paused_until = 0.0  # time.monotonic(); per process, races between threads are harmless


@functools.lru_cache(maxsize=16)
def parse_rate(rate: str, variable: str = "PLS_WORKER_RATE_LIMIT") -> tuple[int, int] | None:
    """``"600/min"`` → ``(600, 60)``, ``"100/10s"`` → ``(100, 10)``, ``""`` → None (no limit).

    The period is ``s``, ``min``, ``h`` or ``d`` (also ``sec``, ``minute``, ``hour``,
    ``day``), optionally preceded by how many of them.
    """
    rate = rate.strip()
    if not rate:
        return None
    match = _RATE.fullmatch(rate.lower())
    if match is None or int(match["count"]) < 1 or match["length"] == "0":
        raise ImproperlyConfigured(
            f"{variable}={rate!r}: expected '<requests>/<period>', e.g. '600/min' "
            "or '100/10s' (period s, min, h or d), or empty for no limit"
        )
    period = int(match["length"] or 1) * _SECONDS[match["unit"][0]]
    return int(match["count"]), period


# Each backend's client holder (one per thread and alias) to the Redis client made for it;
# an entry goes with its holder.
_clients: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _redis_client(backend: RedisCache) -> Any:
    """The backend's Redis client, made once per backend (it shares the backend's
    connection pool). Django makes a new one per command, and in redis-py 8 making one
    costs more than the round trip it is for (about 80 µs against 60 µs)."""
    holder = backend._cache
    client = _clients.get(holder)
    if client is None:
        client = _clients[holder] = holder.get_client(write=True)
    return client


def _count(key: str, period: int) -> int | None:
    """Adds one to ``key``'s counter and returns it; None when the cache is unavailable."""
    global _cache_paused_until
    if time.monotonic() < _cache_paused_until:
        return None
    backend = caches[DEFAULT_CACHE_ALIAS]
    try:
        if isinstance(backend, RedisCache):
            # Django's RedisCache.incr costs EXISTS + INCR, and needs an add() first:
            # three round trips. The key is unique to its window, so INCR creates it and
            # EXPIRE only bounds how long it outlives the window.
            full_key = backend.make_key(key)
            pipeline = _redis_client(backend).pipeline(transaction=False)
            pipeline.incr(full_key)
            pipeline.expire(full_key, period)
            count, _ = pipeline.execute()
            return int(count)
        # Other caches (the embedded default's file cache): not atomic across processes,
        # so the count is approximate there; one web process is the embedded default.
        backend.add(key, 0, timeout=period)
        try:
            return backend.incr(key)
        except ValueError:  # expired between add and incr: this request opens the window
            backend.add(key, 1, timeout=period)
            return 1
    except Exception as exc:  # any cache failure: count nothing rather than refuse work
        _cache_paused_until = time.monotonic() + _CACHE_PAUSE_SECONDS
        logger.warning(
            "rate limit not enforced for %s s: the cache failed (%s: %s)",
            _CACHE_PAUSE_SECONDS,
            type(exc).__name__,
            exc,
        )
        return None


class _RateThrottle:
    """At most the rate in ``settings.<setting>`` requests per window from one caller, as
    ``caller`` names it (None: not counted). The setting is read per request, so tests and
    operators can change it without a restart of the throttle class."""

    setting = ""

    def __init__(self) -> None:
        self._wait: int | None = None

    def caller(self, request: Any, view: Any) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Any, view: Any) -> bool:
        rate = parse_rate(getattr(settings, self.setting), self.setting)
        if rate is None:
            return True
        caller = self.caller(request, view)
        if caller is None:
            return True
        limit, period = rate
        now = time.time()
        window = int(now // period)
        count = _count(f"pls:rate:{caller}:{period}:{window}", period)
        if count is None or count <= limit:
            return True
        self._wait = max(1, math.ceil((window + 1) * period - now))
        # Raised here rather than returning False so the problem document says which limit.
        from rest_framework.exceptions import Throttled

        raise Throttled(
            wait=self._wait,
            detail=gettext("This caller sent more than %(limit)s requests in %(period)s s.")
            % {"limit": limit, "period": period},
        )

    def wait(self) -> int | None:
        return self._wait


class WorkerRateThrottle(_RateThrottle):
    """At most ``PLS_WORKER_RATE_LIMIT`` requests per window from one caller.

    The caller is the request's user: a worker acts through its own user (one per worker,
    whichever of its tokens it uses), a person through theirs (session or HTTP Basic).
    Unauthenticated requests are refused before throttling, so they are not counted here.
    """

    setting = "PLS_WORKER_RATE_LIMIT"

    def caller(self, request: Any, view: Any) -> str | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return str(user.pk)


class ChannelRateThrottle(_RateThrottle):
    """At most ``PLS_CHANNEL_RATE_LIMIT`` interactions per window posted for one channel
    (``POST /api/v1/channels/{id}/interactions``), which no user signs: the provider does.
    They are counted before the signature is checked, as the limit bounds what anyone can
    make the console spend on one channel; forged requests count too."""

    setting = "PLS_CHANNEL_RATE_LIMIT"

    def caller(self, request: Any, view: Any) -> str | None:
        return f"channel:{view.kwargs['pk']}"
