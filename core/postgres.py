"""The hand-written PostgreSQL of core, behind the functions that call it.

Each statement here has an ORM twin beside its caller, used on SQLite;
tests/core/test_postgres_statements.py runs both on the same data on PostgreSQL and asserts
they answer alike. A statement stays only while a benchmark shows it pays (README,
Benchmarks).
"""

from datetime import datetime

from django.db import connection

from core.models import IdempotencyKey


def in_use() -> bool:
    """Whether the default database is PostgreSQL, where these statements run."""
    return connection.vendor == "postgresql"


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
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM, params)
        row = cursor.fetchone()
    return None if row is None else row[0]


_ANSWER = f"""
UPDATE {_KEYS} SET status_code = %s, response_body = %s, response_headers = %s WHERE id = %s
"""  # noqa: S608 - the table's name from the model, every value a parameter


def idempotency_key_answer(*, pk: int, status_code: int, body: str, headers: str) -> None:
    """Keeps the answer on the claimed key's row (``headers`` as JSON)."""
    with connection.cursor() as cursor:
        cursor.execute(_ANSWER, [status_code, body, headers, pk])
