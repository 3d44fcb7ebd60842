"""A JSON string with a lone surrogate escape (``"\\ud800"``: half of a UTF-16 pair, not a
character) is refused as a 400 problem document, which does not echo it.

A field whose error message quotes the input (``"\\ud800" is not a valid choice.``) made the
answer unencodable as UTF-8: a 500.
"""

import json

import pytest

from core.problems import PROBLEM_CONTENT_TYPE
from repairs.models import RepairEvent

EVENTS = "/api/v1/worker-repair-events"

LONE_SURROGATES = [
    '{"gate": "\\ud800", "error_class": "x"}',  # a choice field that quotes its input
    '{"gate": "stuck_claim", "error_class": "\\udfff"}',
    '{"gate": "stuck_claim", "error_class": "x", "message": "a \\uDC00 b"}',
    '{"gate": "stuck_claim", "error_class": "x", "\\ud800": 1}',  # in a key
    '{"gate": "stuck_claim", "error_class": "x", "extra": [["\\ud83d"]]}',  # nested, unpaired
    '{"gate": "stuck_claim", "error_class": "x", "message": "\\ude00\\ud83d"}',  # pair reversed
]


def _refused_without_echo(response) -> dict:
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    text = response.content.decode("utf-8")  # the answer is valid UTF-8
    assert "\\ud" not in text.lower()
    problem = json.loads(text)
    assert problem["status"] == 400
    return problem


@pytest.mark.parametrize("body", LONE_SURROGATES)
def test_a_lone_surrogate_is_a_400_problem_that_does_not_echo_it(worker_client, body):
    response = worker_client.post(EVENTS, data=body, content_type="application/json")

    problem = _refused_without_echo(response)
    assert "surrogate" in problem["detail"]
    assert not RepairEvent.objects.exists()


def test_a_lone_surrogate_is_refused_on_the_owners_routes_too(session_client, owner):
    client = session_client(owner)
    current = client.get("/api/v1/worker-policy/current").json()

    response = client.patch(
        f"/api/v1/worker-policy/{current['id']}",
        # Unknown fields are refused by name, and a matrix's errors point at their key.
        data='{"rationale": "why", "\\ud800": 1, "approval_matrix": {"\\udbff": "none"}}',
        content_type="application/json",
    )

    _refused_without_echo(response)


def test_a_surrogate_pair_is_one_character_and_is_accepted(worker_client):
    body = '{"gate": "stuck_claim", "error_class": "x", "message": "deploy \\ud83d\\ude80 failed"}'

    response = worker_client.post(EVENTS, data=body, content_type="application/json")

    assert response.status_code == 201
    assert RepairEvent.objects.get().message == "deploy \U0001f680 failed"
