"""JSON nested deeper than ``PLS_MAX_JSON_DEPTH`` (or too deep for Python's decoder at all) is a
400 problem document.

100 kB of ``[`` took Python's JSON decoder past the recursion limit: a 500.
"""

import pytest

from core.problems import PROBLEM_CONTENT_TYPE
from repairs.models import RepairEvent

EVENTS = "/api/v1/worker-repair-events"


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000,
        "{" + '"a": {' * 50_000,
        '{"gate": "stuck_claim", "error_class": "x", "extra": ' + "[" * 5000 + "]" * 5000 + "}",
    ],
    ids=["100 kB of [", "nested objects", "deep but well-formed"],
)
def test_json_nested_past_the_limit_is_a_400_problem(worker_client, body):
    response = worker_client.post(EVENTS, data=body, content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert "PLS_MAX_JSON_DEPTH" in response.json()["detail"]
    assert not RepairEvent.objects.exists()


def _event(extra: str) -> str:
    return '{"gate": "stuck_claim", "error_class": "x", "action": "diagnose", ' + extra + "}"


def test_the_depth_limit_is_a_setting(worker_client, settings):
    settings.PLS_MAX_JSON_DEPTH = 3

    at_the_limit = worker_client.post(
        EVENTS, data=_event('"extra": {"a": [1]}'), content_type="application/json"
    )
    past_it = worker_client.post(
        EVENTS, data=_event('"extra": {"a": [[1]]}'), content_type="application/json"
    )

    assert at_the_limit.status_code == 201
    assert past_it.status_code == 400
    assert "3 levels" in past_it.json()["detail"]


def test_brackets_inside_strings_do_not_count(worker_client, settings):
    settings.PLS_MAX_JSON_DEPTH = 2
    message = '[[[{{{ \\"quoted [[[\\" ' * 20

    response = worker_client.post(
        EVENTS, data=_event(f'"message": "{message}"'), content_type="application/json"
    )

    assert response.status_code == 201
    assert RepairEvent.objects.get().message.startswith('[[[{{{ "quoted [[["')
