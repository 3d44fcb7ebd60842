"""What a common report costs PostgreSQL, counted on the wire: every statement the web
process sends, BEGIN and COMMIT included.

libpq's trace of the connection records each message the client sends; a statement
is a simple-protocol ``Query`` (Django binds parameters on the client, so every statement
goes so, BEGIN and COMMIT too) or, with server-side binding, an extended-protocol
``Execute``. The rate limiter's Redis calls and anything
else off PostgreSQL are not counted.
"""

import re
from pathlib import Path

import pytest
from django.db import connection
from django.db.backends.signals import connection_created
from psycopg import pq

from tests.factories import JobFactory, WorkerFactory, client_for, event_body

EVENTS = "/api/v1/worker-repair-events"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

_SENT = re.compile(r'^F\s+\d+\s+(?:Query\s+"\s*(\w+)|(Execute)\b)', re.MULTILINE)


class Wire:
    """The statements sent on every connection Django opens (or takes from its pool) from
    ``start()`` to ``stop()``. The test process runs without the pool (config/settings/
    test.py); without persistent connections Django sends no health-check SELECT 1 either,
    as with the pool."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("w")
        self._traced: list[pq.abc.PGconn] = []

    def start(self) -> None:
        connection.close()  # the next query opens a connection, followed
        connection_created.connect(self.follow)

    def follow(self, sender: object = None, *, connection, **kwargs: object) -> None:
        pgconn = connection.connection.pgconn
        pgconn.trace(self._file.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        self._traced.append(pgconn)

    def stop(self) -> list[str]:
        """The statements sent, as the first word of each (``EXECUTE`` for one sent by the
        extended protocol)."""
        connection_created.disconnect(self.follow)
        for pgconn in self._traced:
            pgconn.untrace()
        self._file.close()
        trace = self.path.read_text()
        return [(query or execute).upper() for query, execute in _SENT.findall(trace)]


@pytest.fixture
def wire(tmp_path, settings):
    from core.auth_backends import forget_cached_permissions
    from policies.selectors import policy_forget

    # The role permissions and the policy cached per process, as outside the tests.
    settings.PLS_PERMISSION_CACHE_SECONDS = 30
    settings.PLS_POLICY_CACHE_SECONDS = 30
    forget_cached_permissions()
    policy_forget()
    return Wire(tmp_path / "libpq.trace")


def test_a_common_report_takes_four_statements(wire, settings):
    worker = WorkerFactory()
    JobFactory(external_id="JOB-3")
    client = client_for(worker)
    # The first two raise the fingerprint's proposal, write the token's last-used time and
    # fill the permission and policy caches.
    for job in ("JOB-1", "JOB-2"):
        assert client.post(EVENTS, event_body(job=job), format="json").status_code == 201
    wire.start()

    answer = client.post(EVENTS, event_body(job="JOB-3"), format="json")
    sent = wire.stop()

    assert answer.status_code == 201
    body = answer.json()
    assert body["verdict"]["decision"] == "allowed"  # a retry: it spends the budget
    assert body["proposal"] is not None and body["repeat_count"] == 3
    # The token (with its worker and user); BEGIN; the one statement that spends the budget,
    # counts the repeat on the fingerprint and its proposal and inserts the event; COMMIT.
    assert sent == ["SELECT", "BEGIN", "WITH", "COMMIT"], wire.path.read_text()[-3000:]
