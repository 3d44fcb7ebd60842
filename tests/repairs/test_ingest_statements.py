"""What a common report costs PostgreSQL, counted on the wire: every statement the web
process sends, BEGIN and COMMIT included.

libpq's trace of the connection records each message the client sends; a statement
is a simple-protocol ``Query`` (Django binds parameters on the client, so its statements go
so, BEGIN and COMMIT too) or an extended-protocol ``Execute`` of a statement prepared by a
``Parse`` (``core.postgres.prepared_cursor``: the hot statements, prepared once per
connection). The rate limiter's Redis calls and anything else off PostgreSQL are not
counted.
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

# A message the client sent: its type, then (for Query, Parse and Bind) what it names.
_MESSAGE = re.compile(r'^F\t\d+\t(\w+)\t? ?(?:"([^"]*)"(?: "\s*(\w+))?)?', re.MULTILINE)


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
        """The statements run, as the first word of each (a prepared one's from its
        ``Parse``, whether that was sent now or earlier on the connection)."""
        connection_created.disconnect(self.follow)
        for pgconn in self._traced:
            pgconn.untrace()
        self._file.close()
        prepared: dict[str, str] = {}
        bound, sent = "", []
        for kind, name, word in _MESSAGE.findall(self.path.read_text()):
            if kind == "Query":
                sent.append(name.split()[0].upper())
            elif kind == "Parse":
                prepared[name] = word.upper()
            elif kind == "Bind":
                bound = prepared.get(word, "?")  # Bind names its portal, then its statement
            elif kind == "Execute":
                sent.append(bound)
        return sent


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
