import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from core.scheduler import SCHEDULER_TICK_KEY
from repairs.models import Gate


def test_health_answers_without_touching_the_database(client):
    # No db fixture: any database access in the view would raise here.
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_reports_database_and_broker(client, db):
    response = client.get("/ready")

    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"
    assert response.json()["checks"]["broker"] == "ok"


@pytest.fixture
def unreachable_database():
    """Points the default connection at a database that cannot be reached, then restores it."""
    original = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-folder/pls.sqlite3"
    else:
        connection.settings_dict["HOST"] = "127.0.0.1"
        connection.settings_dict["PORT"] = "1"  # nothing listens on port 1
    yield
    connection.close()
    connection.settings_dict.clear()
    connection.settings_dict.update(original)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_ready_fails_naming_the_database_when_it_is_unreachable(client, unreachable_database):
    response = client.get("/ready")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert "database" in body["detail"]
    assert body["checks"]["database"] != "ok"
    assert body["checks"]["broker"] == "ok"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_api_answers_503_with_retry_after_while_the_database_is_down(
    worker_token, unreachable_database
):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {worker_token}")

    response = client.get("/api/v1/worker-repair-events")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "5"
    assert response.json()["type"].endswith("/database-unavailable")


def test_ready_stays_ready_while_the_broker_is_unreachable_and_says_so(client, db, settings):
    # Reports and their outbox rows commit in the database; the broker only hurries them.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    response = client.get("/ready")

    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert response.json()["checks"]["broker"].startswith("ConnectionError")
    assert response.json()["checks"]["database"] == "ok"


def test_ready_shows_how_long_ago_the_scheduler_ticked(client, db):
    from core.tasks import scheduler_tick

    scheduler_tick()

    assert 0 <= client.get("/ready").json()["checks"]["scheduler_last_tick_seconds_ago"] < 5


def test_metrics_has_project_counters_at_zero_before_any_event():
    # A fresh process: counters must be there, at zero, before anything happened.
    script = (
        "import django; django.setup();"
        "from django.test import Client;"
        "print(Client().get('/metrics', HTTP_HOST='localhost').content.decode())"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    output = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout

    for gate in Gate.values:
        assert f'pls_repair_events_total{{gate="{gate}"}} 0.0' in output
    assert "pls_idempotent_replays_total 0.0" in output
    for decision in ("allowed", "needs_approval", "denied"):
        assert f'pls_verdicts_total{{decision="{decision}"}} 0.0' in output
    assert "django_http_requests_before_middlewares_total" in output


def test_openapi_schema_documents_the_ingest_endpoint(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = json.loads(response.content)
    assert "/api/v1/worker-repair-events" in schema["paths"]
    for path in (
        "/api/v1/worker-policy/current",
        "/api/v1/worker-policy/{id}",
        "/api/v1/worker-policy/simulate",
        "/api/v1/self-heal-requests/{id}/approve",
        "/api/v1/proposals/{id}/decide",
    ):
        assert path in schema["paths"], path
    assert "post" in schema["paths"]["/api/v1/worker-repair-events"]


def test_api_docs_page_renders_with_local_assets(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert b"cdn.jsdelivr.net" not in response.content
    assert b"/static/drf_spectacular_sidecar/" in response.content


def test_unknown_api_path_is_a_problem_document(client):
    response = client.get("/api/v1/no-such-thing")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 404


def test_scheduler_tick_key_is_shared_through_the_cache():
    # The web process reads what the beat's task wrote: they must use one shared cache.
    assert SCHEDULER_TICK_KEY.startswith("pls:")
    if settings.REDIS_URL:
        assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
