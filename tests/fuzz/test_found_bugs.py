"""One test per bug the fuzzing found, each failing without its fix."""

import pytest
from django.test import Client

from tests.factories import WorkerFactory, issue_token

SCHEMA = "/api/schema/?format=json"


@pytest.fixture
def openapi(db) -> dict:
    return Client().get(SCHEMA).json()


@pytest.mark.parametrize(
    ("component", "field"),
    [
        ("JobOutput", "holder"),
        ("JobActionOutput", "self_heal_request"),
        ("JobActionOutput", "self_heal_request_status"),
        ("SelfHealRequestOutput", "decided_by"),
        ("PolicyOutput", "created_by"),
        ("DecisionOutput", "policy_before"),
        ("DecisionOutput", "policy_after"),
        ("LearningUpdateOutput", "worker"),
        ("LearningUpdateOutput", "reviewed_by"),
    ],
)
def test_fields_the_api_answers_null_are_documented_nullable(openapi, component, field):
    # An open job's holder was null while the schema promised a string.
    assert openapi["components"]["schemas"][component]["properties"][field]["nullable"] is True


def test_a_policy_change_documents_the_decision_and_the_new_version_it_answers(openapi):
    ok = openapi["paths"]["/api/v1/worker-policy/{id}"]["patch"]["responses"]["200"]
    ref = ok["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]

    assert set(openapi["components"]["schemas"][ref]["properties"]) == {"decision", "policy"}


@pytest.mark.parametrize(
    ("method", "path", "statuses"),
    [
        ("post", "/api/v1/jobs", {"400", "401", "403", "409", "413", "415", "429", "503"}),
        ("get", "/api/v1/jobs", {"400", "401", "403", "404", "429", "503"}),
        ("get", "/api/v1/jobs/{external_id}", {"401", "403", "404"}),
        ("post", "/api/v1/jobs/claim-next", {"401", "403", "409", "423"}),
        ("post", "/api/v1/jobs/{external_id}/claim", {"404", "409", "423"}),
        ("post", "/api/v1/jobs/{external_id}/reclaim", {"400", "404", "409", "423"}),
    ],
)
def test_every_error_an_operation_answers_is_documented_as_a_problem_document(
    openapi, method, path, statuses
):
    responses = openapi["paths"][path][method]["responses"]

    assert statuses <= set(responses)
    for status in statuses:
        assert set(responses[status]["content"]) == {"application/problem+json"}
        problem = responses[status]["content"]["application/problem+json"]["schema"]["$ref"]
        assert problem == "#/components/schemas/Problem"


def test_options_on_the_prompt_pack_answers_instead_of_failing(worker_client):
    # The Markdown renderer was handed OPTIONS' metadata (a dict): a 500.
    response = worker_client.options("/api/v1/learning/prompt-pack")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    ("since", "status"),
    [
        # PostgreSQL refuses UTC offsets beyond ±15:59 that Python accepts: it was a 500.
        ("1580-07-18T01:18:08-21:21", 200),
        ("2026-01-01T00:00:00+23:59", 200),
        # Shifted to UTC it leaves the calendar: an invalid date-time, not an OverflowError.
        ("0001-01-01T00:00:00+05:00", 400),
        ("9999-12-31T23:59:59-05:00", 400),
    ],
)
def test_learning_since_takes_any_utc_offset(worker_client, since, status):
    response = worker_client.get("/api/v1/learning-memory-updates", {"since": since})

    assert response.status_code == status


@pytest.mark.postgres
def test_event_since_takes_any_utc_offset(db):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(WorkerFactory())}")

    response = client.get("/api/v1/worker-repair-events", {"since": "2026-01-01T00:00:00-21:21"})

    assert response.status_code == 200
