"""What one report costs, counted in one process: statements per report, and CPU per report
at a fingerprint's 1st and its 10,000th report.

Run by bench/ingest.py inside ``manage.py shell`` (the product's settings, the bench's
database, a pool of one connection) after its timed runs, so counting never slows them:

    from bench.per_report import main; main(worker="<name>")

Requests go through Django's test client: the same middleware, authentication, view and
database as under gunicorn, without the HTTP server. A statement is one the connection sends:
each query Django executes, plus BEGIN and COMMIT (or ROLLBACK) around each transaction it
commits (or rolls back); psycopg sends those two itself, so they are counted at Django's
commit and rollback. CPU is this process's plus its PostgreSQL backend's, read from /proc.
"common" is a report that is allowed and counted on its fingerprint's open proposal; "mix"
is bench/ingest.py's own mix of requests (retries that spend a budget, proposals that may
need approval). Prints one JSON line.
"""

import json
import time
from collections.abc import Callable

from django.db import connection
from django.test import Client

from bench.common import cpu_seconds
from bench.ingest import ingest_body
from repairs.models import Worker
from repairs.services import repair_event_report, worker_token_issue

INGEST_PATH = "/api/v1/worker-repair-events"
BARE_PATH = "/bench/bare-repair-events"
HISTORY = 10_000
SAMPLE = 200


class Statements:
    """Counts the statements the default connection sends while installed."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Callable, sql: str, params: object, many: bool, context: dict):
        self.count += 1
        return execute(sql, params, many, context)

    def install(self) -> None:
        connection.execute_wrappers.append(self)
        commit, rollback = connection.commit, connection.rollback

        def counted_commit() -> None:
            if connection.connection is not None and not connection.get_autocommit():
                self.count += 2  # BEGIN, COMMIT
            commit()

        def counted_rollback() -> None:
            if connection.connection is not None and not connection.get_autocommit():
                self.count += 2  # BEGIN, ROLLBACK
            rollback()

        connection.commit, connection.rollback = counted_commit, counted_rollback


def body(i: int, *, message: str | None = None) -> str:
    return json.dumps(
        {
            "gate": "stuck_claim",
            "error_class": "context_fetch_failed",
            "job": f"PER-REPORT-{i}",
            "phase": "context",
            "action": "diagnose",
            "message": message or f"job {i} fetch from svc-git failed",
            "evidence": "curl: (22) The requested URL returned error: 503",
        }
    )


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def cpu_ms_per(post: Callable[[int], None], start: int, count: int) -> dict[str, float]:
    """CPU per call of ``post`` (this process and its backend), over ``count`` calls."""
    post(start)  # the pooled connection is open, so its backend can be read
    backend = [backend_pid()]
    process, database = time.process_time(), cpu_seconds(backend)
    for i in range(start + 1, start + 1 + count):
        post(i)
    return {
        "web": (time.process_time() - process) * 1000 / count,
        "postgres": (cpu_seconds(backend) - database) * 1000 / count,
    }


def main(*, worker: str) -> None:
    reporter = Worker.objects.get(name=worker)
    token = worker_token_issue(worker=reporter)[1]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")
    run = time.strftime("%H%M%S")

    def ingest(i: int, message: str | None = None) -> None:
        answer = client.post(INGEST_PATH, body(i, message=message), content_type="application/json")
        assert answer.status_code == 201, answer.content

    def mixed(i: int) -> None:
        answer = client.post(INGEST_PATH, ingest_body(i), content_type="application/json")
        assert answer.status_code == 201, answer.content

    def bare(i: int) -> None:
        # The bare view writes as $BENCH_WORKER, which bench/ingest.py sets.
        answer = client.post(BARE_PATH, body(i), content_type="application/json")
        assert answer.status_code == 201, answer.content

    for i in range(20):  # caches, the token's last-used time, a proposal per fingerprint
        ingest(i)
        mixed(10_000_000 + i)
        bare(i)
    counted = {}
    posts = (("common", ingest), ("mix", lambda i: mixed(10_000_000 + i)), ("bare", bare))
    for name, post in posts:
        statements = Statements()
        statements.install()
        for i in range(100, 100 + SAMPLE):
            post(i)
        connection.execute_wrappers.remove(statements)
        del connection.commit, connection.rollback  # the class's own again
        counted[name] = statements.count / SAMPLE

    # One fingerprint's storm: its first reports, then the same after HISTORY of them.
    storm = f"storm {run}: upstream svc-llm answered 503"
    first = cpu_ms_per(lambda i: ingest(i, storm), 1000, SAMPLE)
    for i in range(HISTORY - SAMPLE - 2):  # the next is the HISTORY-th
        repair_event_report(
            worker=reporter,
            gate="stuck_claim",
            error_class="context_fetch_failed",
            job_ref=f"PER-REPORT-{i}",
            action="diagnose",
            message=storm,
        )
    later = cpu_ms_per(lambda i: ingest(i, storm), 20_000, SAMPLE)  # the next SAMPLE
    print(
        json.dumps(
            {
                "statements": counted,
                "storm": {"first": first, "later": later, "history": HISTORY},
            }
        )
    )
