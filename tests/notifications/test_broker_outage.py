"""A report raised while the broker is down costs the request nothing and goes out by the
beat sweep once the broker is back.

Runs its own redis-server on a free port (never the shared one) and a real Celery worker
with beat in a subprocess, so the whole path is real: commit, publish, broker, beat, drain,
provider.
"""

import os
import time

import pytest
from django.db import transaction

from notifications.models import OwnerReport
from notifications.services import report_enqueue
from tests.notifications.conftest import answer, received_ids
from tests.processes import (
    REDIS_SERVER,
    RedisServer,
    celery_worker,
    log_tail,
    use_broker,
    wait_until,
)

pytestmark = [
    pytest.mark.skipif(
        not REDIS_SERVER,
        reason="needs the redis-server binary (apt-get install redis-server) to stop and "
        "start a broker of its own",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def publishing_to(own_redis, monkeypatch, settings):
    """Points this process's Celery publishing, and its cache (where a queued drain task is
    marked), at the throwaway Redis, as the worker's are."""
    with use_broker(own_redis.url, settings, monkeypatch):
        yield own_redis


@pytest.fixture
def worker_with_beat(publishing_to, tmp_path):
    """``celery worker --beat`` on the throwaway broker and this test's database, with the
    sweep every second instead of every 30."""
    process = celery_worker(
        tmp_path,
        broker_url=publishing_to.url,
        beat=True,
        env={
            "PLS_NOTIFY_SWEEP_SECONDS": "1",
            "PLS_HTTP_CONNECT_TIMEOUT": "1",
            "PLS_HTTP_READ_TIMEOUT": "2",
        },
    )
    yield process
    process.stop(timeout=20)
    # Captured: pytest shows it when the test fails (PLS_SHOW_CELERY_LOG=1 with -s: always).
    print(
        process.log.read_text() if os.environ.get("PLS_SHOW_CELERY_LOG") else log_tail(process.log)
    )


def report_state(report: OwnerReport) -> str:
    return OwnerReport.objects.values_list("state", flat=True).get(pk=report.pk)


def test_report_raised_while_the_broker_is_down_goes_out_by_the_beat_sweep(
    httpserver, make_channel, publishing_to, worker_with_beat, caplog
):
    channel = make_channel("ops")
    answer(httpserver, channel, 204)

    # Broker up: the drain asked for after commit sends the report.
    with transaction.atomic():
        (before,) = report_enqueue(source="worker.error", title="before the outage")
    wait_until(lambda: report_state(before) == "sent", 30, "the first report to be sent")

    # Broker down: the commit, and the request around it, are not held up.
    publishing_to.stop()
    started = time.monotonic()
    with transaction.atomic():
        (during,) = report_enqueue(source="worker.error", title="during the outage")
    elapsed = time.monotonic() - started

    assert elapsed < 1.0
    assert "could not publish notifications.tasks.drain_channel" in caplog.text
    time.sleep(1.5)
    assert report_state(during) == "pending"

    # Broker back (empty: the task that was never published is not there either).
    publishing_to.start()
    wait_until(lambda: report_state(during) == "sent", 60, "the beat sweep to send the report")

    assert received_ids(httpserver, channel) == [before.pk, during.pk]
