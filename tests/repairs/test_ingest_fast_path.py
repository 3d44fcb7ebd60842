"""The ingest path's speed work keeps its answers: a fixed number of queries for the common
report, the same response DRF's fields would render, one query for the token, and the retry
budget spent once under concurrent retries."""

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework import serializers

from repairs.api.events import RepairEventOutput
from repairs.models import RepairEvent
from repairs.services import worker_token_authenticate
from tests.factories import JobFactory, WorkerFactory, client_for, event_body, issue_token

EVENTS = "/api/v1/worker-repair-events"

pytestmark = pytest.mark.django_db


def report(client, **fields) -> dict:
    response = client.post(EVENTS, event_body(**fields), format="json")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def production_caches(settings):
    """The role permissions and the policy cached per process, as outside the tests."""
    from core.auth_backends import forget_cached_permissions
    from policies.selectors import policy_forget

    settings.PLS_PERMISSION_CACHE_SECONDS = 30
    settings.PLS_POLICY_CACHE_SECONDS = 5
    forget_cached_permissions()
    policy_forget()
    yield
    forget_cached_permissions()
    policy_forget()


def test_a_repeated_report_on_an_open_proposal_makes_a_fixed_number_of_queries(
    worker_client, on_postgres, production_caches
):
    # The first two raise the fingerprint's proposal, write the token's last-used time and
    # fill the permission and policy caches.
    report(worker_client, job="JOB-1")
    report(worker_client, job="JOB-2")

    with CaptureQueriesContext(connection) as queries:
        body = report(worker_client, job="JOB-3")

    assert body["repeat_count"] == 3
    assert body["proposal"] is not None
    assert body["verdict"]["decision"] == "allowed"
    # The transaction's own statements (BEGIN / COMMIT, or savepoints inside a test) aside:
    # the token with its worker and user; on PostgreSQL one statement that spends the
    # budget, counts the repeat on the fingerprint and its proposal, and inserts the event.
    # SQLite's ORM twin takes a statement or two a step: the budget (a new job's row), the
    # counter, the proposal, the job, the event.
    work = [
        query["sql"].split()[0].upper()
        for query in queries
        if query["sql"].split()[0].upper() not in {"BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"}
    ]
    expected = ["SELECT", "WITH"]
    if not on_postgres:
        expected = ["SELECT", "SELECT", "INSERT", "UPDATE", "SELECT", "UPDATE", "SELECT"]
        expected += ["UPDATE", "SELECT", "INSERT"]
    assert work == expected, "\n".join(query["sql"][:120] for query in queries)


def test_a_report_without_an_action_reads_no_budget(worker_client):
    with CaptureQueriesContext(connection) as queries:
        report(worker_client, action="", job="")

    spends = [query["sql"] for query in queries if "worker_budget_spends" in query["sql"]]
    assert spends == []


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"job": ""},
        {"action": "release"},  # needs approval: a self-heal request
        {"action": "", "outcome": "resolved", "lesson": "Retry after the mirror syncs."},
        {"message": "token pls_" + "x" * 30 + " leaked", "evidence": "e" * 70_000},
    ],
)
def test_the_response_is_what_drfs_fields_would_render(worker_client, fields):
    JobFactory(external_id="JOB-1")
    report(worker_client)  # a first occurrence, so the second raises a proposal
    body = report(worker_client, **fields)

    event = RepairEvent.objects.select_related("worker", "self_heal_request").get(pk=body["id"])
    field_by_field = serializers.Serializer.to_representation(RepairEventOutput(), event)
    assert body == dict(field_by_field)
    assert RepairEventOutput(event).data == field_by_field
    assert list(body) == list(RepairEventOutput().fields)


def test_the_list_renders_as_drfs_fields_would(worker_client):
    report(worker_client)
    report(worker_client, action="release")

    listed = worker_client.get(EVENTS).json()["results"]

    events = RepairEvent.objects.select_related("worker", "self_heal_request").order_by("-id")
    assert listed == [
        dict(serializers.Serializer.to_representation(RepairEventOutput(), event))
        for event in events
    ]


def test_a_token_brings_its_worker_and_user_in_one_query(worker):
    raw = issue_token(worker)
    worker_token_authenticate(raw)  # writes the last-used time once

    with CaptureQueriesContext(connection) as queries:
        token = worker_token_authenticate(raw)
        user = token.worker.user
        assert user.worker == token.worker

    assert len(queries) == 1
    assert token.worker.pk == worker.pk
    assert user.pk == worker.user_id
    # Values as the ORM would give them on every database (SQLite stores text and integers).
    assert isinstance(token.created_at, datetime)
    assert token.created_at.tzinfo is not None
    assert isinstance(token.last_used_at, datetime)
    assert user.is_active is True
    assert user.is_superuser is False
    assert token.worker.budget_month is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_retries_of_one_job_spend_the_budget_once():
    worker = WorkerFactory()
    clients = [client_for(worker) for _ in range(8)]
    # Messages of different shapes: different fingerprints, so only the worker's own lock
    # (not the fingerprint's) stands between the retries.
    mirrors = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]

    def retry(client_and_mirror) -> str:
        client, mirror = client_and_mirror
        body = event_body(action="retry", message=f"fetch failed on mirror {mirror}")
        try:
            return client.post(EVENTS, body, format="json").json()["verdict"]["decision"]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        decisions = sorted(pool.map(retry, zip(clients, mirrors, strict=True)))

    assert decisions == ["allowed"] + ["needs_approval"] * 7
