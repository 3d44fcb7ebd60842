"""The fuzzing harness: the product's WSGI application called in-process, on the test
database, the way gunicorn would call it (CSRF, middleware and the 404/500 handlers all in
play)."""

import base64

import pytest
from django.contrib.auth.models import Group
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from core.roles import PLS_OWNER
from policies.models import Proposal, WorkerPolicy
from tests.factories import UserFactory
from tests.fuzz.harness import KNOWN_IDS
from tests.security.fleet import worker_with_records

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's


@pytest.fixture
def keep_test_connection():
    """Django closes the database connection around each request when it is not in
    autocommit; inside a test's transaction that would throw the test's data away. Django's
    own test client disconnects the same handler for the same reason, and connects it again
    after each of its requests: ask for this fixture after any setup that uses it."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fleet(db):
    """Two workers on two teams, each with one of every record; their ids are what generated
    path parameters are mixed with (``KNOWN_IDS``)."""
    alpha = worker_with_records(team="alpha")
    beta = worker_with_records(team="beta")
    records = (alpha, beta)
    KNOWN_IDS.clear()
    KNOWN_IDS.update(
        {
            "/api/v1/artifact-gate-checks/": [r.artifact_check for r in records],
            "/api/v1/jobs/": [r.job for r in records],
            "/api/v1/learning-memory-updates/": [r.learning_update for r in records],
            "/api/v1/proposals/": list(Proposal.objects.values_list("pk", flat=True)),
            "/api/v1/self-heal-requests/": [r.self_heal_request for r in records],
            "/api/v1/worker-policy/": list(WorkerPolicy.objects.values_list("pk", flat=True)),
            "/api/v1/worker-repair-events/": [r.event for r in records],
        }
    )
    yield alpha, beta
    KNOWN_IDS.clear()


@pytest.fixture
def as_worker(fleet, keep_test_connection):
    alpha, _ = fleet
    return {"Authorization": f"Bearer {alpha.token}"}


@pytest.fixture
def as_owner(fleet, keep_test_connection):
    owner = UserFactory(is_staff=True)
    owner.groups.add(Group.objects.get(name=PLS_OWNER))
    basic = base64.b64encode(f"{owner.username}:{PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {basic}"}
