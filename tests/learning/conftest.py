"""Fixtures for the learning tests: a second team's worker, and reading the outbox."""

import pytest
from rest_framework.test import APIClient

from tests.factories import WorkerFactory, issue_token

UPDATES = "/api/v1/learning-memory-updates"
PACK = "/api/v1/learning/prompt-pack"
EVENTS = "/api/v1/worker-repair-events"


def lesson_body(**overrides) -> dict:
    body = {
        "kind": "repair_lesson",
        "error_class": "context_fetch_failed",
        "lesson": "Retry the context fetch once after 30 seconds; the API recovers.",
        "fix": "sleep 30 && retry",
        "next_round_priority": 2,
    }
    body.update(overrides)
    return body


def client_for(worker) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token(worker)}")
    return client


@pytest.fixture
def beta_worker(db):
    return WorkerFactory(team="beta")


@pytest.fixture
def beta_client(beta_worker) -> APIClient:
    return client_for(beta_worker)
