"""Each hand-written statement of core/postgres.py and its ORM twin give the same answer on
the same data, on PostgreSQL (where both can run)."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from core import postgres
from core.idempotency import idempotency_key_answer_by_orm, idempotency_key_claim_by_orm
from core.models import IdempotencyKey
from tests.factories import WorkerFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _keys() -> list[tuple]:
    return list(
        IdempotencyKey.objects.order_by("key").values_list(
            "key",
            "request_digest",
            "status_code",
            "response_body",
            "response_headers",
            "created_at",
        )
    )


def claim_both(user_id: int, *, key: str, before: timedelta | None, now):
    """What the claim and its twin answer, and leave, on the same data: a key ``key`` first
    claimed ``before`` now (None: never), with its answer kept. Each runs in a savepoint
    rolled back, so the second sees what the first saw."""
    answers = []
    for claim in (postgres.idempotency_key_claim, idempotency_key_claim_by_orm):
        with transaction.atomic():
            if before is not None:
                IdempotencyKey.objects.create(
                    user_id=user_id,
                    key="k-1",
                    request_digest="a" * 64,
                    status_code=201,
                    response_body='{"id": 1}',
                    response_headers={"Content-Type": "application/json"},
                    created_at=now - before,
                )
            claimed = claim(user_id=user_id, key=key, digest="b" * 64, now=now)
            answers.append({"claimed": claimed is not None, "keys": _keys()})
            transaction.set_rollback(True)
    return answers


@pytest.mark.parametrize(
    ("key", "age", "claimed"),
    [
        ("k-1", None, True),
        ("k-2", lambda ttl: timedelta(minutes=1), True),
        ("k-1", lambda ttl: timedelta(minutes=1), False),
        ("k-1", lambda ttl: ttl, True),
        ("k-1", lambda ttl: ttl + timedelta(days=1), True),
    ],
    ids=["a new key", "another key", "a live key", "expired this moment", "long expired"],
)
def test_a_claim_answers_as_its_orm_twin(key, age, claimed):
    """``age``: how old the caller's key k-1 is, given the keys' time to live."""
    user_id = WorkerFactory().user_id
    now = timezone.now()
    ttl = now - IdempotencyKey.expiry_cutoff(now)

    statement, twin = claim_both(
        user_id, key=key, before=None if age is None else age(ttl), now=now
    )

    assert statement == twin
    assert statement["claimed"] is claimed


def test_an_answer_is_kept_as_by_its_orm_twin():
    user_id = WorkerFactory().user_id
    kept = []
    for answer in (postgres.idempotency_key_answer, idempotency_key_answer_by_orm):
        with transaction.atomic():
            pk = IdempotencyKey.objects.create(user_id=user_id, key="k-1", request_digest="a").pk
            answer(
                pk=pk,
                status_code=409,
                body='{"title": "Conflict"}',
                headers='{"Content-Type": "application/problem+json", "Retry-After": "5"}',
            )
            kept.append([row[:-1] for row in _keys()])  # created_at aside: a moment apart
            transaction.set_rollback(True)

    assert kept[0] == kept[1]
    assert kept[0][0][2:5] == (
        409,
        '{"title": "Conflict"}',
        {"Content-Type": "application/problem+json", "Retry-After": "5"},
    )
