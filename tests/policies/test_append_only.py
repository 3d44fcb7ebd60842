"""Decision records and policy versions cannot be changed or removed, even with raw SQL."""

import pytest
from django.db import DatabaseError, connection, transaction

from policies.models import PolicyDecision, WorkerPolicy
from tests.factories import policy_set

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def decision() -> PolicyDecision:
    policy_set(max_auto_retries=2)
    return PolicyDecision.objects.get()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE worker_policy_decisions SET rationale = 'rewritten' WHERE id = %s",
        "DELETE FROM worker_policy_decisions WHERE id = %s",
    ],
)
def test_the_database_refuses_to_change_a_decision(decision, statement):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, [decision.pk])

    assert PolicyDecision.objects.get(pk=decision.pk).rationale == "test setup"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE worker_policies SET max_auto_retries = 9 WHERE version = 1",
        "DELETE FROM worker_policies WHERE version = 1",
    ],
)
def test_the_database_refuses_to_change_a_policy_version(statement):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)

    assert WorkerPolicy.objects.get(version=1).max_auto_retries == 1


def test_the_orm_cannot_edit_a_decision_either(decision):
    decision.rationale = "rewritten"

    with pytest.raises(DatabaseError), transaction.atomic():
        decision.save()
