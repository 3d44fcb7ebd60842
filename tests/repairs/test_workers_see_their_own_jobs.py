"""Workers see their own (issue 12, finding 7): a worker reads open jobs and the jobs it
holds; another worker's job shows at most its status, never its holder, lease or progress.
People see every job in full."""

import pytest

from repairs.models import Job
from repairs.services import job_heartbeat
from tests.factories import JobFactory, WorkerFactory, client_for, job_claimed_by

pytestmark = pytest.mark.django_db

JOBS = "/api/v1/jobs"
SECRET_PROGRESS = "migrating customer table (row 1234 of 9000) on orders-db"
HIDDEN = (
    "title",
    "priority",
    "holder",
    "claimed_at",
    "lease_expires_at",
    "attempts",
    "progress",
    "stuck_at",
    "completed_at",
    "created_at",
)


@pytest.fixture
def fleet(db):
    """alpha holds A-1 (with heartbeat progress), beta holds B-1, and O-1 is open."""
    alpha, beta = WorkerFactory(name="alpha"), WorkerFactory(name="beta")
    job_claimed_by(alpha, external_id="A-1")
    job_heartbeat(worker=alpha, external_id="A-1", progress=SECRET_PROGRESS)
    job_claimed_by(beta, external_id="B-1")
    JobFactory(external_id="O-1")
    return alpha, beta


def ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {job["external_id"] for job in response.json()["results"]}


def test_a_worker_lists_open_jobs_and_the_jobs_it_holds(fleet):
    alpha, beta = fleet

    assert ids(client_for(beta).get(JOBS)) == {"B-1", "O-1"}
    assert ids(client_for(alpha).get(JOBS)) == {"A-1", "O-1"}


def test_a_worker_cannot_find_another_workers_jobs_by_holder(fleet):
    alpha, beta = fleet

    assert ids(client_for(beta).get(JOBS, {"holder": "alpha"})) == set()
    assert ids(client_for(beta).get(JOBS, {"status": "claimed"})) == {"B-1"}
    assert ids(client_for(alpha).get(JOBS, {"holder": "alpha"})) == {"A-1"}


def test_another_workers_job_shows_only_its_status(fleet):
    _alpha, beta = fleet

    response = client_for(beta).get(f"{JOBS}/A-1")

    assert response.status_code == 200
    body = response.json()
    assert (body["external_id"], body["status"]) == ("A-1", "claimed")
    assert all(body[name] is None for name in HIDDEN), body
    assert SECRET_PROGRESS not in response.content.decode()
    assert "alpha" not in response.content.decode()


def test_the_holder_reads_its_own_job_in_full(fleet):
    alpha, _beta = fleet

    body = client_for(alpha).get(f"{JOBS}/A-1").json()

    assert (body["holder"], body["progress"]) == ("alpha", SECRET_PROGRESS)


def test_a_worker_reads_an_open_job_in_full(fleet):
    _alpha, beta = fleet

    body = client_for(beta).get(f"{JOBS}/O-1").json()

    assert body["title"] == Job.objects.get(external_id="O-1").title
    assert body["priority"] == "medium"


@pytest.mark.parametrize("role", ["owner", "reviewer", "viewer"])
def test_people_see_every_job_in_full(fleet, role, request, session_client):
    client = session_client(request.getfixturevalue(role))

    assert ids(client.get(JOBS)) == {"A-1", "B-1", "O-1"}
    assert ids(client.get(JOBS, {"holder": "alpha"})) == {"A-1"}
    body = client.get(f"{JOBS}/A-1").json()
    assert (body["holder"], body["progress"]) == ("alpha", SECRET_PROGRESS)


def test_a_reclaim_waiting_for_approval_shows_the_other_workers_job_by_its_status(fleet):
    from repairs.services import job_stuck_claims_detect

    _alpha, beta = fleet
    Job.objects.filter(external_id="A-1").update(
        lease_expires_at=Job.objects.get(external_id="A-1").claimed_at
    )
    job_stuck_claims_detect()

    response = client_for(beta).post(f"{JOBS}/A-1/reclaim", {}, format="json")

    assert response.status_code == 202, response.content
    job = response.json()["job"]
    assert (job["status"], job["holder"], job["progress"]) == ("stuck", None, None)
    assert SECRET_PROGRESS not in response.content.decode()
