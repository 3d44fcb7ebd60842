"""Fixtures of the fault drills: private services and processes that a drill may stop, kill
or flood without touching anything shared (the machine's PostgreSQL on 5432 and Redis on 6379
are never stopped), and a webhook sink that records every delivery attempt.

Every process a fixture starts is stopped in its teardown, which runs when the drill fails
too, and before the test database is emptied; the tail of each process's log is printed
there, so a failing drill shows what the processes saw.
"""

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.processes import (
    REDIS_SERVER,
    Process,
    RedisServer,
    celery_worker,
    gunicorn,
    log_tail,
    use_broker,
)


def drill(*, redis: bool = True) -> list[pytest.MarkDecorator]:
    """The marks of a fault drill: ``-m faults`` selects the drills, and they skip, saying
    why, unless the run is on PostgreSQL (and Redis) as production is."""
    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    missing = [
        *([] if on_postgres else ["DATABASE_URL=postgres://..."]),
        *(["REDIS_URL=redis://..."] if redis and not settings.REDIS_URL else []),
    ]
    return [
        pytest.mark.faults,
        pytest.mark.postgres,
        *([pytest.mark.redis] if redis else []),
        pytest.mark.skipif(
            bool(missing),
            reason="fault drill: runs against the production services; set "
            + " and ".join(missing)
            + " (skipped on the embedded default)",
        ),
        pytest.mark.skipif(
            redis and not REDIS_SERVER,
            reason="fault drill: needs the redis-server binary to run a Redis of its own "
            "(apt-get install redis-server)",
        ),
    ]


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the drill's own, on a free port; the drill may stop and restart it."""
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def publishing_to(redis_server: RedisServer, settings, monkeypatch) -> Iterator[RedisServer]:
    """Points this test process's Celery publishing and cache at the drill's Redis, as the
    processes it starts are."""
    with use_broker(redis_server.url, settings, monkeypatch):
        yield redis_server


class Spawner:
    """Starts Celery workers and gunicorn for one drill and stops them all afterwards."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[Process] = []

    def celery(self, **options) -> Process:
        return celery_worker(self.folder, track=self.started, **options)

    def web(self, **options) -> tuple[Process, str]:
        return gunicorn(self.folder, track=self.started, **options)

    def stop_all(self) -> None:
        """Stops every process, each even if stopping another failed (then raises that)."""
        failure: BaseException | None = None
        for process in reversed(self.started):
            began = time.monotonic()
            try:
                process.stop()
            except BaseException as exc:
                failure = failure or exc
            took = time.monotonic() - began
            print(f"--- {process.log.name}, stopped in {took:.1f} s (last lines) ---")
            print(log_tail(process.log))
        if failure is not None:
            raise failure


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Spawner]:
    """Processes of a drill that brings its own database (or none)."""
    spawner = Spawner(tmp_path)
    try:
        yield spawner
    finally:
        spawner.stop_all()


@pytest.fixture
def spawn(transactional_db, processes: Spawner) -> Spawner:
    """Processes on the test database. Set up after the database fixture, so they are
    stopped before its tables are emptied (a process still connected would hold it up)."""
    return processes


class Sink:
    """A generic-webhook receiver recording each delivery attempt as (report id, status).

    While ``failing`` it answers 503 (with ``Retry-After: 1``), as a provider having an
    outage does; otherwise 204.
    """

    def __init__(self, httpserver: HTTPServer, path: str = "/sink") -> None:
        self.url = httpserver.url_for(path)
        self.failing = False
        self.attempts: list[tuple[int, int]] = []
        self._lock = threading.Lock()
        httpserver.expect_request(path, method="POST").respond_with_handler(self._answer)

    def _answer(self, request: Request) -> Response:
        report_id = json.loads(request.get_data())["id"]
        status = 503 if self.failing else 204
        with self._lock:
            self.attempts.append((report_id, status))
        return Response(status=status, headers={"Retry-After": "1"} if status == 503 else {})

    @property
    def accepted(self) -> list[int]:
        """Report ids answered 2xx, in arrival order."""
        with self._lock:
            return [report_id for report_id, status in self.attempts if status < 300]

    def overtakes(self, report_ids: list[int]) -> list[tuple[int, list[int]]]:
        """Attempts to send a report while an older one of ``report_ids`` was not yet
        accepted: each is a report sent out of order. Returns (report id, older ids owed)."""
        with self._lock:
            attempts = list(self.attempts)
        accepted: set[int] = set()
        wrong = []
        for report_id, status in attempts:
            owed = [older for older in report_ids if older < report_id and older not in accepted]
            if owed:
                wrong.append((report_id, owed))
            if status < 300:
                accepted.add(report_id)
        return wrong


@pytest.fixture
def sink(httpserver: HTTPServer) -> Sink:
    return Sink(httpserver)
