"""Drill: PostgreSQL restarts while workers report events.

A private cluster (initdb in a temporary folder, on a free port) is migrated and serves
gunicorn (config/gunicorn.conf.py, two processes, production settings, persistent
connections). Threads report events without pause; the cluster is stopped (``pg_ctl stop
-m fast``: sessions are terminated mid-request) and started again. During the outage every
answer must be a 503 problem document with Retry-After, promptly (never a 500, never a
hang); after it, the same web processes must answer 201 again within seconds, and every
event answered 201 must be in the database.
"""

import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import psycopg
import pytest
import requests
from django.conf import settings

from tests.factories import event_body
from tests.faults.conftest import drill
from tests.processes import POSTGRES_BIN, PostgresCluster, django_env, log_tail, wait_until

pytestmark = [
    *drill(redis=False),
    pytest.mark.skipif(
        POSTGRES_BIN is None,
        reason="needs the PostgreSQL server binaries (initdb, pg_ctl) for a private cluster: "
        "apt-get install postgresql",
    ),
]

THREADS = 4
CLIENT_TIMEOUT = (2, 10)  # seconds to connect, to read: anything longer is a hang
SLOWEST_ANSWER_SECONDS = 5.0
RECOVERY_SECONDS = 10.0
OUTAGE_SECONDS = 1.0
# The events the threads reported (the repeats also raise repair_suggested events).
REPORTED = "SELECT id FROM worker_repair_events WHERE gate = 'stuck_claim'"


@dataclass
class Answer:
    at: float  # time.monotonic() when the request was sent
    took: float
    status: int | None = None
    content_type: str = ""
    retry_after: str | None = None
    problem_type: str = ""
    event_id: int | None = None
    error: str = ""


class Load:
    """Threads reporting events back to back (20 ms apart) until stopped."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(THREADS)
        ]

    def __enter__(self) -> "Load":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=CLIENT_TIMEOUT[0] + CLIENT_TIMEOUT[1] + 5)

    def _run(self, n: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        sent = 0
        while not self._stop.is_set():
            sent += 1
            body = event_body(job=f"PG-{n}-{sent}", action="diagnose", message=f"blip {n}")
            answer = Answer(at=time.monotonic(), took=0.0)
            try:
                response = session.post(
                    f"{self.base}/api/v1/worker-repair-events", json=body, timeout=CLIENT_TIMEOUT
                )
                answer.status = response.status_code
                answer.content_type = response.headers.get("Content-Type", "")
                answer.retry_after = response.headers.get("Retry-After")
                data = response.json() if response.content else {}
                answer.problem_type = data.get("type", "") if answer.status >= 400 else ""
                answer.event_id = data.get("id") if answer.status == 201 else None
            except (requests.RequestException, ValueError) as exc:
                answer.error = f"{type(exc).__name__}: {exc}"
            answer.took = time.monotonic() - answer.at
            with self._lock:
                self.answers.append(answer)
            time.sleep(0.02)

    def count(self, status: int | None = None, since: float = 0.0) -> int:
        """Answers (with ``status``, or any) to requests sent since ``since``."""
        with self._lock:
            return sum(1 for a in self.answers if a.at >= since and status in (None, a.status))


@pytest.fixture
def cluster():
    cluster = PostgresCluster()
    try:
        cluster.create()
        yield cluster
    finally:
        print(f"--- {cluster.log} (last lines) ---\n{log_tail(cluster.log)}")
        cluster.destroy()


def manage(cluster: PostgresCluster, folder, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=django_env(folder, DATABASE_URL=cluster.url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"manage.py {args[0]} failed:\n{result.stderr}"
    return result.stdout


def test_the_api_answers_503_while_postgres_restarts_and_recovers_by_itself(
    cluster, processes, tmp_path
):
    manage(cluster, tmp_path / "manage", "migrate", "--noinput", "-v", "0")
    token = manage(cluster, tmp_path / "manage", "create_worker", "pg-drill", "--team", "drills")
    token = token.strip().splitlines()[-1]
    web, base = processes.web(
        env={"DATABASE_URL": cluster.url, "PLS_WORKER_RATE_LIMIT": ""}, workers=2
    )

    with Load(base, token) as load:
        wait_until(lambda: load.count(201) >= 20, 30, "20 events accepted before the outage")

        stopped_at = time.monotonic()
        cluster.stop("fast")
        time.sleep(OUTAGE_SECONDS)
        # Requests sent while PostgreSQL is still shutting down may yet be accepted: wait for
        # the refusals themselves.
        wait_until(lambda: load.count(503, stopped_at) >= 10, 15, "503s during the outage")

        started_at = time.monotonic()
        cluster.start()
        wait_until(
            lambda: load.count(201, started_at) >= 20, 30, "20 events accepted after the restart"
        )

    answers = load.answers
    assert [a.error for a in answers if a.error] == []  # no hang, no dropped connection
    assert {a.status for a in answers} <= {201, 503}  # never a 500
    assert load.count(503) >= 10
    assert max(a.took for a in answers) < SLOWEST_ANSWER_SECONDS
    refused = [a for a in answers if a.status == 503]
    assert all(a.content_type == "application/problem+json" for a in refused)
    assert all(a.problem_type.endswith("/database-unavailable") for a in refused)
    assert all(a.retry_after and int(a.retry_after) > 0 for a in refused)
    assert all(a.at + a.took >= stopped_at for a in refused)  # only because of the outage
    first_accepted_again = min(
        a.at + a.took for a in answers if a.status == 201 and a.at >= started_at
    )
    print(
        f"{len(answers)} answers: {load.count(201)} x 201, {len(refused)} x 503; database down "
        f"{started_at - stopped_at:.1f} s; first 201 {first_accepted_again - started_at:.2f} s "
        f"after its start; slowest answer {max(a.took for a in answers):.2f} s"
    )
    assert first_accepted_again - started_at < RECOVERY_SECONDS
    assert all(a.status == 201 for a in answers[-2 * THREADS :])

    # Every event the API accepted is stored. A request in flight when the database went
    # down may have committed and still been answered 503 (one per thread at most); a
    # worker's retry with its Idempotency-Key gets the first answer back.
    accepted = {a.event_id for a in answers if a.status == 201}
    with psycopg.connect(
        cluster.url.replace("postgres://", "postgresql://"), connect_timeout=5
    ) as db:
        stored = {row[0] for row in db.execute(REPORTED)}
    assert accepted <= stored
    assert len(stored - accepted) <= THREADS
    # The same web processes recovered by themselves: none was restarted.
    assert web.running()
    assert web.log.read_text().count("Booting worker") == 2
