"""The hand-written PostgreSQL of core, behind the functions that call it.

Each statement here has an ORM twin beside its caller, used on SQLite;
tests/core/test_postgres_statements.py runs both on the same data on PostgreSQL and asserts
they answer alike. A statement stays only while a benchmark shows it pays (README,
Benchmarks).
"""

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any, NamedTuple, Self

import psycopg
from django.db import connection
from django.db.backends.utils import CursorWrapper
from psycopg.abc import Params, QueryNoTemplate

from core.models import IdempotencyKey


def in_use() -> bool:
    """Whether the default database is PostgreSQL, where these statements run."""
    return connection.vendor == "postgresql"


class _Shown(NamedTuple):
    query: bytes


class _Prepared(psycopg.Cursor):
    """A cursor binding its parameters on the server and running each statement prepared."""

    # psycopg overloads execute() for template strings, which this cursor is never given.
    def execute(  # type: ignore[override]
        self,
        query: QueryNoTemplate,
        params: Params | None = None,
        *,
        prepare: bool | None = None,
        binary: bool | None = None,
    ) -> Self:
        super().execute(query, params, prepare=True, binary=binary)
        if connection.queries_logged:
            # Django's query log (DEBUG, tests) reads the statement psycopg last sent, which a
            # prepared run leaves out: it shows the statement with its values instead, as the
            # log shows those of Django's own cursors.
            shown = psycopg.ClientCursor(self._conn).mogrify(query, params)
            self._query = _Shown(shown.encode())  # type: ignore[assignment]
        return self


@contextlib.contextmanager
def prepared_cursor() -> Iterator[CursorWrapper]:
    """A cursor whose statements run prepared: PostgreSQL parses and plans each one once per
    connection (the pool keeps connections, so about once per process), and each later run
    sends only its parameters, bound on the server. With prepared statements off
    (``PLS_DB_PREPARED_STATEMENTS=false``) the statements run unprepared.

    For the hottest statements only: a prepared statement's parameters need types PostgreSQL
    can infer (a cast where it cannot), and each one keeps a plan in every connection. The
    cursor is Django's otherwise (as ``connection.cursor()`` makes it): execute wrappers, the
    query log and error translation apply.
    """
    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw: Any = _Prepared(connection.connection)  # django-stubs expect a wrapper here
    logged = connection.queries_logged
    wrapped = connection.make_debug_cursor(raw) if logged else connection.make_cursor(raw)
    with wrapped as cursor:
        yield cursor


_KEYS = connection.ops.quote_name(IdempotencyKey._meta.db_table)

# A keyed write claims its key in one statement, without a savepoint: a new key is inserted,
# an expired one is taken over (its row reset to a new claim), a live one is left as it is.
# The insert waits while another transaction holds an uncommitted row with the key, then
# sees that row (committed) or none (rolled back). ON CONFLICT DO UPDATE locks the row it
# conflicts with even where its WHERE leaves the row be, so the live row the caller then
# reads cannot be purged in between.
_CLAIM = f"""
INSERT INTO {_KEYS} AS k
    (user_id, key, request_digest, status_code, response_body, response_headers, created_at)
VALUES (%(user_id)s, %(key)s, %(digest)s, NULL, '', '{{}}', %(now)s)
ON CONFLICT (user_id, key) DO UPDATE SET
    request_digest = EXCLUDED.request_digest, status_code = NULL, response_body = '',
    response_headers = '{{}}', created_at = EXCLUDED.created_at
WHERE k.created_at <= %(expired_at)s
RETURNING id
"""  # noqa: S608 - the table's name from the model, every value a parameter


def idempotency_key_claim(*, user_id: int, key: str, digest: str, now: datetime) -> int | None:
    """Claims ``key`` for a request with ``digest``: the claimed row's id, or None when a
    committed row with the key has not expired by ``now`` (the first request's)."""
    expired_at = IdempotencyKey.expiry_cutoff(now)
    params: dict = {
        "user_id": user_id,
        "key": key,
        "digest": digest,
        "now": now,
        "expired_at": expired_at,
    }
    with prepared_cursor() as cursor:
        cursor.execute(_CLAIM, params)
        row = cursor.fetchone()
    return None if row is None else row[0]


_ANSWER = f"""
UPDATE {_KEYS} SET status_code = %s, response_body = %s, response_headers = %s WHERE id = %s
"""  # noqa: S608 - the table's name from the model, every value a parameter


def idempotency_key_answer(*, pk: int, status_code: int, body: str, headers: str) -> None:
    """Keeps the answer on the claimed key's row (``headers`` as JSON)."""
    with prepared_cursor() as cursor:
        cursor.execute(_ANSWER, [status_code, body, headers, pk])
