"""Two workers on two teams, each with one of every record a worker owns, made through the
API as the workers themselves would (claim, report, ask, check, learn)."""

from dataclasses import dataclass

from rest_framework.test import APIClient

from repairs.models import Worker
from repairs.services import job_create
from tests.factories import WorkerFactory, issue_token

API = "/api/v1"


@dataclass
class WorkerRecords:
    worker: Worker
    token: str
    job: str  # external id of the job it holds
    event: int
    self_heal_request: int
    artifact_check: int
    learning_update: int

    def client(self) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.token}")
        return client


def _created(response, *codes: int) -> dict:
    assert response.status_code in codes, (response.status_code, response.content)
    return response.json()


def worker_with_records(*, team: str) -> WorkerRecords:
    worker = WorkerFactory(team=team)
    token = issue_token(worker)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    job = job_create(external_id=f"{worker.name}-JOB", title=f"{worker.name}'s job").external_id
    _created(client.post(f"{API}/jobs/{job}/claim"), 200)
    # A release needs the risk reviewer's approval under the interim policy: it opens a
    # self-heal request.
    event = _created(
        client.post(
            f"{API}/worker-repair-events",
            {
                "gate": "stuck_claim",
                "error_class": "context_fetch_failed",
                "job": job,
                "action": "release",
                "message": f"context fetch of {job} failed",
            },
            format="json",
        ),
        201,
    )
    check = _created(
        client.post(
            f"{API}/artifact-gate-checks",
            {"job": job, "primary_url": f"https://artifacts.example.com/{job}.zip"},
            format="json",
        ),
        202,
    )
    lesson = _created(
        client.post(
            f"{API}/learning-memory-updates",
            {
                "kind": "repair_lesson",
                "error_class": "context_fetch_failed",
                "lesson": f"{team}: retry the context fetch once before releasing",
                "event": event["id"],
            },
            format="json",
        ),
        201,
    )
    assert event["self_heal_request"], event
    return WorkerRecords(
        worker=worker,
        token=token,
        job=job,
        event=event["id"],
        self_heal_request=event["self_heal_request"],
        artifact_check=check["id"],
        learning_update=lesson["id"],
    )
