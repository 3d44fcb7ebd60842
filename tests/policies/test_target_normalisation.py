"""Targets are normalised before they are matched against the protected patterns (issue 12,
finding 4): the same database named another way is still the same database."""

import pytest

from policies import ladder
from policies.models import WorkerPolicy
from policies.targets import target_forms

SPELLINGS_OF_ORDERS_DB = [
    "orders-db",
    "ORDERS-DB",
    "orders_db",
    "orders-db.internal",
    "orders-db.prod.example.com",
    "orders-db:5432",
    "orders-db.internal:5432",
    "orders-db/replica",
    "cluster/orders-db",
    "postgres://orders-db:5432/app",
    "postgresql://app:secret@orders-db.internal:5432/app?sslmode=require",
    "https://orders-db.internal/",
    "ORDERS_DB.Internal",
    " orders-db ",
    "orders%2Ddb",
    "\uff4f\uff52\uff44\uff45\uff52\uff53-db",  # "orders" in fullwidth letters
    "orders\u200b-db",  # a zero-width space
    "[orders-db]",
    "cache-node-7,orders-db",
]


def policy(**fields) -> WorkerPolicy:
    # Only the floor protects: the policy lists nothing of its own.
    return WorkerPolicy(protected_resources=[], **fields)


@pytest.mark.parametrize("target", SPELLINGS_OF_ORDERS_DB)
def test_every_spelling_of_a_protected_database_is_denied(target):
    verdict = ladder.judge(policy(), action="restart_session", resources=[target])

    assert verdict.decision == "denied", verdict
    assert verdict.rung == "L3"


@pytest.mark.parametrize(
    "target", ["cache-node-7", "orders-api", "https://ci.example.com/jobs/42", "dbt-runner"]
)
def test_other_targets_are_not_protected(target):
    assert ladder.judge(policy(), action="restart_session", resources=[target]).decision == (
        "needs_approval"
    )


def test_the_forms_of_a_url_are_its_host_its_bare_name_and_its_path_segments():
    forms = target_forms("postgres://app:pw@Orders_DB.internal:5432/app/main")

    assert {"orders-db.internal", "orders-db", "app", "main"} <= forms
    assert "postgres://app:pw@orders-db.internal:5432/app/main" in forms


def test_the_forms_of_a_host_are_without_its_port_and_its_domain():
    assert {"orders-db.internal:5432", "orders-db.internal", "orders-db"} <= target_forms(
        "orders-db.internal:5432"
    )


def test_each_path_segment_is_a_form():
    assert {"orders-db", "replica"} <= target_forms("orders-db/replica")


def test_a_pattern_is_normalised_as_a_target_is():
    assert ladder.is_protected("orders-db", ["*_DB"]) == "*_DB"


@pytest.mark.parametrize(
    "target", ["", "://", "[", "]:", "@", ":::", "a" * 500, "\x00", "\ud800", "%", "%%2"]
)
def test_odd_targets_give_forms_without_raising(target):
    assert isinstance(target_forms(target), frozenset)
