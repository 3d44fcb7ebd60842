"""A report raised while the broker is down costs the request nothing and goes out by the
beat sweep once the broker is back.

Runs its own redis-server on a free port (never the shared one) and a real Celery worker
with beat in a subprocess, so the whole path is real: commit, publish, broker, beat, drain,
provider.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction

from config import broker
from config.celery import app
from notifications.models import OwnerReport
from notifications.services import report_enqueue
from tests.notifications.conftest import answer, received_ids

REDIS_SERVER = shutil.which("redis-server") or ""

pytestmark = [
    pytest.mark.skipif(
        not REDIS_SERVER,
        reason="needs the redis-server binary (apt-get install redis-server) to stop and "
        "start a broker of its own",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


def wait_until(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.1)


class RedisServer:
    """A throwaway redis-server: no persistence, so a restart starts empty like an outage."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: answers(self.port), 10, "redis-server to start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


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
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": own_redis.url,
        }
    }
    monkeypatch.setattr(app.conf, "broker_url", own_redis.url)
    broker.reset()
    yield own_redis
    broker.reset()


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{db['USER']}{password}@{host}/{db['NAME']}"


@pytest.fixture
def worker_with_beat(publishing_to, tmp_path):
    """``celery worker --beat`` on the throwaway broker and this test's database, with the
    sweep every second instead of every 30."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": database_url(),
        "REDIS_URL": publishing_to.url,
        "CELERY_BROKER_URL": publishing_to.url,
        "PLS_NOTIFY_SWEEP_SECONDS": "1",
        "PLS_VAR_DIR": str(tmp_path / "var"),
        "PLS_HTTP_CONNECT_TIMEOUT": "1",
        "PLS_HTTP_READ_TIMEOUT": "2",
    }
    log = open(tmp_path / "celery.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--beat",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()
    if os.environ.get("PLS_SHOW_CELERY_LOG"):
        print((tmp_path / "celery.log").read_text())


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
