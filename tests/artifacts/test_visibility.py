"""A worker reads only its own checks; people with the view right read them all."""

import pytest

from tests.artifacts.conftest import CHECKS, client_for
from tests.factories import WorkerFactory, artifact_check_body, held_job

pytestmark = pytest.mark.django_db

URL = "https://artifacts.example.com/index.html"


@pytest.fixture
def two_checks(worker, worker_client):
    other = WorkerFactory()
    other_client = client_for(other)
    mine = worker_client.post(
        CHECKS, artifact_check_body(held_job(worker), URL), format="json"
    ).json()
    theirs = other_client.post(
        CHECKS, artifact_check_body(held_job(other), URL), format="json"
    ).json()
    return mine, theirs


def test_a_worker_cannot_read_another_workers_check(worker_client, two_checks):
    mine, theirs = two_checks

    assert worker_client.get(f"{CHECKS}/{mine['id']}").status_code == 200
    response = worker_client.get(f"{CHECKS}/{theirs['id']}")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_a_workers_list_holds_only_its_own_checks(worker_client, two_checks):
    mine, _ = two_checks

    listed = worker_client.get(CHECKS).json()["results"]

    assert [check["id"] for check in listed] == [mine["id"]]


def test_a_viewer_reads_every_check_and_filters_them(viewer, session_client, two_checks):
    mine, theirs = two_checks
    client = session_client(viewer)

    assert {c["id"] for c in client.get(CHECKS).json()["results"]} == {mine["id"], theirs["id"]}
    assert client.get(f"{CHECKS}/{theirs['id']}").status_code == 200
    by_job = client.get(CHECKS, {"job": theirs["job"]}).json()["results"]
    assert [c["id"] for c in by_job] == [theirs["id"]]
    assert client.get(CHECKS, {"status": "passed"}).json()["results"] == []
    assert len(client.get(CHECKS, {"status": "pending"}).json()["results"]) == 2


def test_an_unknown_status_filter_is_a_400(viewer, session_client):
    response = session_client(viewer).get(CHECKS, {"status": "bogus"})

    assert response.status_code == 400
