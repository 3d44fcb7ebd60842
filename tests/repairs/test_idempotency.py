import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from repairs.models import RepairEvent
from tests.factories import event_body

EVENTS = "/api/v1/worker-repair-events"


def test_same_key_and_body_returns_the_first_response_without_a_second_row(worker_client):
    first = worker_client.post(EVENTS, event_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = worker_client.post(EVENTS, event_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert RepairEvent.objects.count() == 1


def test_key_order_in_the_body_does_not_matter(worker_client):
    body = event_body()
    reordered = dict(reversed(list(body.items())))
    worker_client.post(EVENTS, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    again = worker_client.post(EVENTS, reordered, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert again.status_code == 201
    assert RepairEvent.objects.count() == 1


def test_same_key_with_another_body_is_409(worker_client):
    worker_client.post(EVENTS, event_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    response = worker_client.post(
        EVENTS, event_body(message="something else"), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith("/idempotency-conflict")
    assert RepairEvent.objects.count() == 1


def test_keys_are_per_worker(worker_client, db):
    from tests.factories import WorkerFactory, issue_token

    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token(WorkerFactory())}")
    worker_client.post(EVENTS, event_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    response = other.post(EVENTS, event_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert response.status_code == 201
    assert RepairEvent.objects.filter(idempotency_key="k-1").count() == 2


def test_an_unusable_key_is_a_problem_naming_the_header(worker_client):
    response = worker_client.post(
        EVENTS, event_body(), format="json", HTTP_IDEMPOTENCY_KEY="x" * 201
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "#/Idempotency-Key"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_retries_with_one_key_write_one_row(worker_token):
    callers = 12
    barrier = threading.Barrier(callers)
    responses = []
    lock = threading.Lock()

    def retry() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {worker_token}")
        barrier.wait()
        try:
            response = client.post(
                EVENTS, event_body(), format="json", HTTP_IDEMPOTENCY_KEY="same-key"
            )
            with lock:
                responses.append(response)
        finally:
            connection.close()

    threads = [threading.Thread(target=retry) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert [r.status_code for r in responses] == [201] * callers
    assert len({r.json()["id"] for r in responses}) == 1
    assert RepairEvent.objects.count() == 1
