"""Every worker write answers a keyed request once (core.idempotency): the same key and body
replay the first answer with no second effect, another body is a 409, and ten concurrent
retries on PostgreSQL have one effect.

Each write is a ``Write``: how to set it up for a worker, the body, and ``effects``: what
the write changed, counted so that a second effect would show (two events, twice the spend,
a lease renewed after the answer was given).
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from artifacts.models import ArtifactGateCheck
from core.idempotency import idempotency_keys_purge
from core.models import IdempotencyKey
from learning.models import LearningMemoryUpdate
from repairs.models import Job, RepairEvent, SelfHealRequest, Worker
from repairs.services import repair_event_report
from tests.factories import (
    JobFactory,
    WorkerFactory,
    event_body,
    issue_token,
    job_claimed_by,
    policy_set,
)

EVENTS = "/api/v1/worker-repair-events"


def reported() -> int:
    """Events the workers reported (a repeat also records the proposal it raised)."""
    return RepairEvent.objects.exclude(gate="repair_suggested").count()


@dataclass(frozen=True)
class Write:
    name: str
    # Sets the scene for ``worker``; returns the path to POST to.
    prepare: Callable[[Worker], str]
    body: dict
    # What the write changed, given the (one) answer: equal to 1 when it took effect once.
    effects: Callable[[Worker, dict], int]

    def other_body(self) -> dict:
        return {**self.body, "note": "another request"}


def _count(model: Any, **lookups: Any) -> Callable[[Worker, dict], int]:
    return lambda worker, answer: model.objects.filter(**lookups).count()


def _lease_given(worker: Worker, answer: dict) -> int:
    """1 when the job's lease is the one the answer gave: a second claim or heartbeat after
    the answer would have renewed it to a later time."""
    job = Job.objects.get(external_id="IDEM-1")
    return int(job.lease_expires_at == parse_datetime(answer["lease_expires_at"]))


def _open_job(worker: Worker) -> str:
    JobFactory(external_id="IDEM-1")
    return "/api/v1/jobs/IDEM-1/claim"


def _claim_next(worker: Worker) -> str:
    JobFactory(external_id="IDEM-1")
    JobFactory(external_id="IDEM-2")
    return "/api/v1/jobs/claim-next"


def _held(suffix: str) -> Callable[[Worker], str]:
    def prepare(worker: Worker) -> str:
        job_claimed_by(worker, external_id="IDEM-1")
        return f"/api/v1/jobs/IDEM-1/{suffix}"

    return prepare


def _released_freely(worker: Worker) -> str:
    policy_set(approval_matrix={"release": "none", "reclaim": "none"})
    return _held("release")(worker)


def _stuck_elsewhere(worker: Worker) -> str:
    policy_set(approval_matrix={"release": "none", "reclaim": "none"})
    job_claimed_by(WorkerFactory(), external_id="IDEM-1", lease_expired=True)
    return "/api/v1/jobs/IDEM-1/reclaim"


def _event_of(worker: Worker) -> str:
    event = repair_event_report(worker=worker, gate="stuck_claim", error_class="idem_test").event
    return f"/api/v1/worker-repair-events/{event.pk}/outcome"


def _usage(worker: Worker) -> str:
    return "/api/v1/workers/me/usage"


def _path(path: str) -> Callable[[Worker], str]:
    return lambda worker: path


def _held_for_check(worker: Worker) -> str:
    job_claimed_by(worker, external_id="IDEM-1")
    return "/api/v1/artifact-gate-checks"


WRITES = [
    Write(
        "usage",
        _usage,
        {"cents": 100},
        lambda worker, answer: Worker.objects.get(pk=worker.pk).month_spend_cents // 100,
    ),
    Write(
        "artifact check",
        _held_for_check,
        {"job": "IDEM-1", "primary_url": "https://artifacts.example.com/r.txt", "upload_files": []},
        _count(ArtifactGateCheck),
    ),
    Write(
        "learning update",
        _path("/api/v1/learning-memory-updates"),
        {"kind": "repair_lesson", "error_class": "idem_test", "lesson": "Retry the fetch once."},
        lambda worker, answer: sum(
            LearningMemoryUpdate.objects.values_list("occurrences", flat=True)
        ),
    ),
    Write("claim", _open_job, {}, _lease_given),
    Write(
        "claim of an unregistered job",
        _path("/api/v1/jobs/NO-SUCH-JOB/claim"),
        {},
        _count(RepairEvent, error_class="claim_without_job"),
    ),
    Write("claim-next", _claim_next, {}, _count(Job, status="claimed")),
    Write("heartbeat", _held("heartbeat"), {"progress": "step 2 of 3"}, _lease_given),
    Write("release", _released_freely, {"message": "done"}, _count(RepairEvent, action="release")),
    Write(
        "reclaim", _stuck_elsewhere, {"message": "mine now"}, _count(RepairEvent, action="reclaim")
    ),
    Write(
        "complete",
        _held("complete"),
        {},
        _count(RepairEvent, error_class="completion_blocked"),
    ),
    Write("repair event", _path(EVENTS), event_body(), _count(RepairEvent)),
    Write(
        "self-heal request",
        _path(EVENTS),
        event_body(action="release", job="IDEM-1", message="the session is wedged"),
        _count(SelfHealRequest),
    ),
    Write(
        "event outcome",
        _event_of,
        {"outcome": "resolved", "lesson": "Retry the fetch once."},
        _count(LearningMemoryUpdate),
    ),
]


def _client(worker: Worker) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token(worker)}")
    return client


def _post(client: APIClient, path: str, body: dict, key: str = "retry-1"):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db
@pytest.mark.parametrize("write", WRITES, ids=lambda write: write.name)
def test_the_same_key_and_body_replay_the_first_answer_with_one_effect(write):
    worker = WorkerFactory()
    path = write.prepare(worker)
    client = _client(worker)

    first = _post(client, path, write.body)
    again = _post(client, path, write.body)

    assert first.status_code < 500 and first.status_code != 400, first.content
    assert again.status_code == first.status_code
    assert again.json() == first.json()
    assert again["Content-Type"] == first["Content-Type"]
    assert again["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert write.effects(worker, first.json()) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("write", WRITES, ids=lambda write: write.name)
def test_the_same_key_with_another_body_is_a_409_problem_and_changes_nothing(write):
    worker = WorkerFactory()
    path = write.prepare(worker)
    client = _client(worker)
    first = _post(client, path, write.body)

    response = _post(client, path, write.other_body())

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith("/idempotency-conflict")
    assert write.effects(worker, first.json()) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("write", WRITES, ids=lambda write: write.name)
def test_ten_concurrent_retries_have_one_effect(write):
    worker = WorkerFactory()
    path = write.prepare(worker)
    token = issue_token(worker)
    callers = 10
    barrier = threading.Barrier(callers)
    answers: list = []
    lock = threading.Lock()

    def retry() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        try:
            barrier.wait(timeout=10)
            response = _post(client, path, write.body, key="the-same-key")
            with lock:
                answers.append(response)
        finally:
            connection.close()

    threads = [threading.Thread(target=retry) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(answers) == callers
    assert len({(answer.status_code, answer.content) for answer in answers}) == 1
    assert sum(answer.has_header("Idempotent-Replayed") for answer in answers) == callers - 1
    assert write.effects(worker, answers[0].json()) == 1
    assert IdempotencyKey.objects.filter(key="the-same-key").count() == 1


@pytest.mark.django_db
def test_keys_belong_to_their_worker(worker_client):
    other = _client(WorkerFactory())
    worker_client.post(EVENTS, event_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    response = other.post(EVENTS, event_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert response.status_code == 201
    assert not response.has_header("Idempotent-Replayed")
    assert reported() == 2


@pytest.mark.django_db
def test_key_order_and_spacing_in_the_body_do_not_matter(worker_client):
    body = event_body()
    worker_client.post(EVENTS, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    reordered = dict(reversed(list(body.items())))
    again = worker_client.post(EVENTS, reordered, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert again["Idempotent-Replayed"] == "true"
    assert RepairEvent.objects.count() == 1


@pytest.mark.django_db
def test_one_key_on_another_route_is_a_409(worker_client, worker):
    JobFactory(external_id="IDEM-1")
    worker_client.post("/api/v1/jobs/IDEM-1/claim", HTTP_IDEMPOTENCY_KEY="k-1")

    response = worker_client.post("/api/v1/jobs/claim-next", HTTP_IDEMPOTENCY_KEY="k-1")

    assert response.status_code == 409


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "naïve"])
def test_an_unusable_key_is_a_400_problem_naming_the_header(worker_client, key):
    response = worker_client.post(
        EVENTS, event_body(), format="json", HTTP_IDEMPOTENCY_KEY=key.encode().decode("latin-1")
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["pointer"] == "#/Idempotency-Key"
    assert not RepairEvent.objects.exists()


@pytest.mark.django_db
def test_a_key_of_255_characters_is_used(worker_client):
    key = "k" * 255
    worker_client.post(EVENTS, event_body(), format="json", HTTP_IDEMPOTENCY_KEY=key)

    again = worker_client.post(EVENTS, event_body(), format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert again["Idempotent-Replayed"] == "true"
    assert RepairEvent.objects.count() == 1


@pytest.mark.django_db
def test_a_refused_request_keeps_no_key_so_the_corrected_one_may_use_it(worker_client):
    refused = worker_client.post(
        EVENTS, event_body(gate="nope"), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    corrected = worker_client.post(EVENTS, event_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert refused.status_code == 400
    assert corrected.status_code == 201
    assert not corrected.has_header("Idempotent-Replayed")


@pytest.mark.django_db
def test_an_expired_key_is_a_new_request_and_the_purge_deletes_it(worker_client, settings):
    worker_client.post(EVENTS, event_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    IdempotencyKey.objects.update(
        created_at=timezone.now() - settings.PLS_IDEMPOTENCY_KEY_TTL - timedelta(seconds=1)
    )

    again = worker_client.post(EVENTS, event_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert again.status_code == 201
    assert not again.has_header("Idempotent-Replayed")
    assert reported() == 2
    worker_client.post(EVENTS, event_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    IdempotencyKey.objects.filter(key="k-2").update(
        created_at=timezone.now() - settings.PLS_IDEMPOTENCY_KEY_TTL - timedelta(hours=1)
    )
    assert idempotency_keys_purge() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["k-1"]


@pytest.mark.django_db
def test_a_request_without_a_key_is_answered_every_time(worker_client):
    worker_client.post(EVENTS, event_body(), format="json")
    worker_client.post(EVENTS, event_body(), format="json")

    assert reported() == 2
    assert not IdempotencyKey.objects.exists()
