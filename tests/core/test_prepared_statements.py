"""Ingest's hot statements run prepared (core.postgres.prepared_cursor): PostgreSQL parses
and plans each once per connection. With prepared statements off they run all the same."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import WorkerFactory, client_for, event_body

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

EVENTS = "/api/v1/worker-repair-events"


def prepared() -> list[str]:
    """The statements this connection holds prepared, as their first word."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return sorted(row[0].split()[0].upper() for row in cursor.fetchall())


def report_twice() -> list[dict]:
    client = client_for(WorkerFactory())
    answers = [client.post(EVENTS, event_body(job=job), format="json") for job in ("J-1", "J-2")]
    assert [answer.status_code for answer in answers] == [201, 201]
    return [answer.json() for answer in answers]


def test_the_token_lookup_and_the_report_are_prepared_once():
    first, second = report_twice()

    # Each statement once, however often it ran: the token's SELECT and the report's WITH.
    assert prepared() == ["SELECT", "WITH"]
    assert second["repeat_count"] == first["repeat_count"] + 1


def test_with_prepared_statements_off_the_same_statements_run_unprepared(monkeypatch):
    # What PLS_DB_PREPARED_STATEMENTS=false leaves on each connection (config/settings).
    connection.ensure_connection()
    monkeypatch.setattr(connection.connection, "prepare_threshold", None)

    first, second = report_twice()

    assert prepared() == []
    assert second["repeat_count"] == first["repeat_count"] + 1


def test_the_query_log_shows_a_prepared_statement_with_its_values():
    client = client_for(WorkerFactory())

    with CaptureQueriesContext(connection) as queries:
        answer = client.post(EVENTS, event_body(message="fetch of job 77 failed"), format="json")

    assert answer.status_code == 201
    report = next(
        q["sql"] for q in queries.captured_queries if q["sql"].lstrip().startswith("WITH")
    )
    assert "fetch of job 77 failed" in report
