"""A job id in the URL path with a NUL or another control character names no job: every job
route answers a 404 problem document and records nothing.

PostgreSQL refuses NUL in text, so ``/api/v1/jobs/abc%00def`` reached the database on all six
job routes and was a 500; on SQLite a claim of it was recorded as a stuck claim.
"""

import pytest

from core.problems import PROBLEM_CONTENT_TYPE
from repairs.models import RepairEvent
from repairs.services import job_create

JOB_ROUTES = [
    ("get", ""),
    ("post", "/claim"),
    ("post", "/heartbeat"),
    ("post", "/release"),
    ("post", "/reclaim"),
    ("post", "/complete"),
]
CONTROL_CHARACTERS = ["%00", "%01", "%09", "%0A", "%0D", "%1B", "%1F", "%7F"]


@pytest.mark.parametrize(("method", "route"), JOB_ROUTES, ids=[r or "/" for _, r in JOB_ROUTES])
@pytest.mark.parametrize("character", CONTROL_CHARACTERS)
def test_a_control_character_in_a_job_id_is_a_404_problem_on_every_job_route(
    worker_client, method, route, character
):
    response = getattr(worker_client, method)(
        f"/api/v1/jobs/abc{character}def{route}", {}, format="json"
    )

    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert response.json()["status"] == 404
    assert not RepairEvent.objects.exists()


def test_a_control_character_in_a_console_path_is_a_404_page(client, owner):
    client.force_login(owner)

    response = client.get("/admin/repairs/job/abc%00def/change/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_job_id_of_visible_characters_still_reaches_its_job(worker_client):
    # Only control characters are refused: "%" and "~" may be part of a job's id.
    job_create(external_id="PLS-%~1", title="an id with % and ~")

    response = worker_client.get("/api/v1/jobs/PLS-%25~1")

    assert response.status_code == 200
    assert response.json()["external_id"] == "PLS-%~1"
