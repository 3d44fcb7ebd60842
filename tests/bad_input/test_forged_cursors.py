"""A pagination cursor the API did not hand out is a 400 problem document on every cursor-paged
list, found from the served OpenAPI schema (every GET with a ``cursor`` parameter).

A cursor is base64 of a query string; ``p`` (the position) went into the query unchecked, so
base64 of ``p=not-a-number`` was a 500 on every list.
"""

from base64 import b64encode

import pytest
from django.test import Client

from core.problems import PROBLEM_CONTENT_TYPE
from tests.factories import UserFactory


def _cursor(raw: bytes) -> str:
    return b64encode(raw).decode()


FORGED = [
    _cursor(b"p=not-a-number"),
    _cursor(b"p=1.5"),
    _cursor(b"p=%00"),
    _cursor(b"p=99999999999999999999999999999"),
    _cursor(b"o=many"),
    _cursor(b"r=sideways"),
    "not base64 at all!",
    _cursor(b"\xff\xfe"),
]


def _cursor_paged_lists() -> list[str]:
    schema = Client().get("/api/schema/?format=json").json()
    return sorted(
        path
        for path, operations in schema["paths"].items()
        if any(p["name"] == "cursor" for p in operations.get("get", {}).get("parameters", []))
    )


@pytest.fixture
def superuser_client(db) -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_the_lists_are_found(db):
    assert {"/api/v1/worker-repair-events", "/api/v1/jobs"} <= set(_cursor_paged_lists())


@pytest.mark.parametrize("cursor", FORGED)
def test_a_forged_cursor_is_a_400_problem_on_every_cursor_paged_list(superuser_client, cursor):
    answers = {}
    for path in _cursor_paged_lists():
        response = superuser_client.get(path, {"cursor": cursor})
        answers[path] = (response.status_code, response["Content-Type"])

    assert set(answers.values()) == {(400, PROBLEM_CONTENT_TYPE)}, answers


def test_the_problem_points_at_the_cursor(superuser_client):
    response = superuser_client.get(
        "/api/v1/worker-repair-events", {"cursor": _cursor(b"p=not-a-number")}
    )

    assert response.json()["errors"][0]["pointer"] == "#/cursor"


def test_a_cursor_the_api_handed_out_still_pages(superuser_client, worker_client):
    for number in range(3):
        worker_client.post(
            "/api/v1/worker-repair-events",
            {"gate": "stuck_claim", "error_class": f"e{number}", "action": "diagnose"},
            format="json",
        )

    first = superuser_client.get("/api/v1/worker-repair-events", {"limit": 2}).json()
    second = superuser_client.get(first["next"]).json()

    assert [e["error_class"] for e in first["results"] + second["results"]] == ["e2", "e1", "e0"]
