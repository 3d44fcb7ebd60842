"""The per-worker rate limit (config/throttling.py): one worker's storm is answered 429 with
Retry-After while the others are served, the count starts again with the next window, and
the limiter never refuses work because the cache is down.

Runs on the cache of the run (Redis with REDIS_URL, else the test settings' local memory)
and on the embedded default's file cache. The drill against a live gunicorn with several
processes is tests/faults/test_request_storm.py.
"""

import time
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework.test import APIClient

from core import throttling
from tests.factories import WorkerFactory, client_for, event_body

EVENTS = "/api/v1/worker-repair-events"


@pytest.fixture
def own_counts(settings):
    """Counters under a key prefix of this test's own, so no earlier run (or another test
    using the same worker id within the same minute) shares them."""
    default = dict(settings.CACHES["default"])
    settings.CACHES = {"default": {**default, "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}
    throttling._cache_paused_until = 0.0
    yield
    throttling._cache_paused_until = 0.0


def rate(settings, value: str, setting: str = "PLS_WORKER_RATE_LIMIT") -> int:
    """Sets the rate and returns its period, having waited for a fresh window if the
    current one is nearly over (a storm split across two windows would pass twice)."""
    setattr(settings, setting, value)
    _, period = throttling.parse_rate(value)
    left = period - time.time() % period
    if left < min(5.0, period * 0.6):
        time.sleep(left + 0.02)
    return period


def report(client: APIClient):
    return client.post(EVENTS, event_body(action="diagnose"), format="json")


@pytest.mark.django_db
def test_a_storm_from_one_worker_gets_429_while_another_worker_is_served(settings, own_counts):
    period = rate(settings, "5/min")
    stormer, other = client_for(WorkerFactory()), client_for(WorkerFactory())

    storm = [report(stormer) for _ in range(8)]
    others = [report(other) for _ in range(3)]

    assert [r.status_code for r in storm] == [201] * 5 + [429] * 3
    assert [r.status_code for r in others] == [201] * 3
    refused = storm[-1]
    assert refused["Content-Type"] == "application/problem+json"
    assert 1 <= int(refused["Retry-After"]) <= period
    body = refused.json()
    assert body["status"] == 429
    assert body["title"] == "Too Many Requests"
    assert body["type"].endswith("/throttled")
    assert "more than 5 requests in 60 s" in body["detail"]


@pytest.mark.django_db
def test_every_token_of_a_worker_shares_its_count(settings, own_counts):
    rate(settings, "3/min")
    worker = WorkerFactory()
    first, second = client_for(worker), client_for(worker)

    statuses = [report(client).status_code for client in (first, second, first, second)]

    assert statuses == [201, 201, 201, 429]


@pytest.mark.django_db
def test_the_count_starts_again_in_the_next_window(settings, own_counts):
    period = rate(settings, "2/s")
    client = client_for(WorkerFactory())

    first = [report(client).status_code for _ in range(3)]
    refused_wait = int(report(client)["Retry-After"])
    time.sleep(period - time.time() % period + 0.02)
    after = report(client).status_code

    assert first == [201, 201, 429]
    assert refused_wait == 1
    assert after == 201


@pytest.mark.django_db
def test_people_are_counted_per_user(settings, own_counts, reviewer, viewer, session_client):
    rate(settings, "2/min")
    busy, calm = session_client(reviewer), session_client(viewer)

    busy_statuses = [busy.get(EVENTS).status_code for _ in range(3)]
    calm_status = calm.get(EVENTS).status_code

    assert busy_statuses == [200, 200, 429]
    assert calm_status == 200


@pytest.mark.django_db
def test_the_embedded_defaults_file_cache_counts_too(settings, tmp_path):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    }
    rate(settings, "3/min")
    client = client_for(WorkerFactory())

    assert [report(client).status_code for _ in range(4)] == [201, 201, 201, 429]


@pytest.mark.django_db
def test_requests_go_through_uncounted_while_the_cache_is_down(settings, own_counts, caplog):
    # Nothing listens on port 1: every cache command fails, as with Redis stopped.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    rate(settings, "1/min")
    client = client_for(WorkerFactory())

    started = time.monotonic()
    statuses = [report(client).status_code for _ in range(4)]

    assert statuses == [201] * 4
    assert time.monotonic() - started < 5
    assert "rate limit not enforced" in caplog.text


@pytest.mark.django_db
def test_no_rate_means_no_limit(settings, own_counts):
    settings.PLS_WORKER_RATE_LIMIT = ""
    client = client_for(WorkerFactory())

    assert {report(client).status_code for _ in range(12)} == {201}


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("600/min", (600, 60)),
        ("600/m", (600, 60)),
        ("10/s", (10, 1)),
        ("100/10s", (100, 10)),
        ("5000/hour", (5000, 3600)),
        ("1/day", (1, 86400)),
        ("  ", None),
    ],
)
def test_rates_are_read_like_drfs_with_an_optional_period_count(value, parsed):
    assert throttling.parse_rate(value) == parsed


@pytest.mark.parametrize("value", ["600", "600/fortnight", "0/min", "10/0s", "ten/min", "-1/s"])
def test_a_malformed_rate_is_refused(value):
    with pytest.raises(ImproperlyConfigured, match="PLS_WORKER_RATE_LIMIT"):
        throttling.parse_rate(value)


def test_a_malformed_channel_rate_is_refused_naming_its_setting():
    with pytest.raises(ImproperlyConfigured, match="PLS_CHANNEL_RATE_LIMIT='fast'"):
        throttling.parse_rate("fast", "PLS_CHANNEL_RATE_LIMIT")
