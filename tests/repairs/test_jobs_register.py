"""The owner (or a system token granted add_job) registers jobs; everyone with a role reads
the queue."""

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from repairs.models import Job
from tests.factories import JobFactory, WorkerFactory, issue_token

JOBS = "/api/v1/jobs"

pytestmark = pytest.mark.django_db


def test_the_owner_registers_a_job(owner, session_client):
    response = session_client(owner).post(
        JOBS, {"external_id": "PLS-7", "title": "Fix the build", "priority": "high"}, format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["status"] == "open"
    assert response.json()["priority"] == "high"
    assert Job.objects.get(external_id="PLS-7").priority_rank == 1


def test_the_owner_registers_with_basic_auth_from_a_script(owner):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic " + _basic(owner.username))

    response = client.post(JOBS, {"external_id": "PLS-8", "title": "t"}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["priority"] == "medium"


def test_a_duplicate_external_id_is_a_conflict_problem(owner, session_client):
    JobFactory(external_id="PLS-7")

    response = session_client(owner).post(
        JOBS, {"external_id": "PLS-7", "title": "again"}, format="json"
    )

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith("/job-already-exists")
    assert Job.objects.filter(external_id="PLS-7").count() == 1


def test_an_ordinary_worker_cannot_register_jobs(worker_client):
    response = worker_client.post(JOBS, {"external_id": "PLS-9", "title": "t"}, format="json")

    assert response.status_code == 403
    assert not Job.objects.exists()


def test_a_system_token_whose_user_holds_add_job_registers_jobs():
    system = WorkerFactory(name="pls-sync")
    system.user.user_permissions.add(Permission.objects.get(codename="add_job"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token(system)}")

    response = client.post(JOBS, {"external_id": "PLS-10", "title": "synced"}, format="json")

    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    "body",
    [
        {"external_id": "PLS-1", "title": "t", "priority": "urgent"},
        {"external_id": "a/b", "title": "t"},
        {"external_id": "has space", "title": "t"},
        {"external_id": "claim-next", "title": "t"},
        {"title": "no id"},
        {"external_id": "x" * 201, "title": "t"},
    ],
)
def test_bad_input_is_a_validation_problem_not_a_500(body, owner, session_client):
    response = session_client(owner).post(JOBS, body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"]


def test_the_queue_is_listed_with_filters(viewer, session_client):
    JobFactory(external_id="H", priority="high")
    JobFactory(external_id="L", priority="low", status="completed")
    client = session_client(viewer)

    high = client.get(JOBS, {"priority": "high"}).json()["results"]
    completed = client.get(JOBS, {"status": "completed"}).json()["results"]

    assert [job["external_id"] for job in high] == ["H"]
    assert [job["external_id"] for job in completed] == ["L"]
    assert client.get(f"{JOBS}/H").json()["title"]


def test_an_account_outside_every_role_reads_nothing(session_client):
    from tests.factories import UserFactory

    assert session_client(UserFactory()).get(JOBS).status_code == 403


def _basic(username: str) -> str:
    import base64

    return base64.b64encode(f"{username}:correct-horse-battery".encode()).decode()
