"""GET /api/v1/scorecard: the scorecard as JSON for every human role, never for workers; a bad
window is a 400 problem, not a 500."""

import base64

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

SCORECARD = "/api/v1/scorecard"


@pytest.mark.parametrize("role", ["owner", "reviewer", "viewer"])
def test_every_human_role_reads_the_scorecard(request, session_client, fleet, role):
    fleet.event("stuck_claim", "lease_expired", action="retry", decision="allowed")
    client = session_client(request.getfixturevalue(role))

    response = client.get(SCORECARD, {"days": 30})

    assert response.status_code == 200
    body = response.json()
    assert body["window"]["days"] == 30
    assert body["events"]["total"] == 1
    assert body["events"]["by_gate"]["stuck_claim"] == 1
    assert body["retries"]["allowed"] == 1
    assert len(body["events"]["per_day"]) == 30
    assert set(body) == {
        "window",
        "events",
        "retries",
        "stuck_claims",
        "artifact_guard",
        "self_heal",
        "tool_verdicts",
        "proposals",
        "learning",
        "workers",
    }
    assert "latencies" not in body["self_heal"]  # the chart's raw data stays on the server


def test_the_window_is_seven_days_unless_asked(session_client, viewer):
    body = session_client(viewer).get(SCORECARD).json()

    assert body["window"]["days"] == 7
    assert len(body["events"]["per_day"]) == 7


@pytest.mark.parametrize("days", ["0", "91", "-3", "seven", "7.5", "1e3"])
def test_a_window_outside_one_to_ninety_days_is_a_problem_document(session_client, viewer, days):
    response = session_client(viewer).get(SCORECARD, {"days": days})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["pointer"] == "#/days"


def test_workers_do_not_read_the_fleets_scorecard(worker_client):
    assert worker_client.get(SCORECARD).status_code == 403


def test_anonymous_callers_are_refused(db):
    assert APIClient().get(SCORECARD).status_code == 401


def test_a_script_reads_it_with_basic_auth(viewer):
    script = APIClient()
    credentials = base64.b64encode(f"{viewer.username}:correct-horse-battery".encode()).decode()
    script.credentials(HTTP_AUTHORIZATION=f"Basic {credentials}")

    assert script.get(SCORECARD, {"days": 1}).status_code == 200
