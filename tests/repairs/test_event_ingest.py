from datetime import timedelta

import pytest
from django.utils import timezone

from repairs.models import RepairEvent
from tests.factories import JobFactory, event_body, policy_set

EVENTS = "/api/v1/worker-repair-events"


def test_report_returns_the_event_with_fingerprint_and_repeat_count(worker_client):
    response = worker_client.post(EVENTS, event_body(), format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["id"] == RepairEvent.objects.get().pk
    assert len(body["fingerprint"]) == 64
    assert body["repeat_count"] == 1
    assert body["gate"] == "stuck_claim"
    assert body["job"] == "JOB-1"
    assert body["verdict"]["decision"] == "allowed"
    assert body["proposal"] is None
    assert body["self_heal_request"] is None


def test_repeats_of_one_error_count_up_across_the_fleet(worker_client):
    worker_client.post(EVENTS, event_body(message="fetch of job 17 failed"), format="json")
    second = worker_client.post(EVENTS, event_body(message="fetch of job 99 failed"), format="json")

    assert second.json()["repeat_count"] == 2


def test_repeats_outside_the_window_do_not_count(worker, worker_client, settings):
    policy_set(repeat_window=timedelta(hours=1))
    worker_client.post(
        EVENTS,
        event_body(occurred_at=(timezone.now() - timedelta(hours=2)).isoformat()),
        format="json",
    )

    response = worker_client.post(EVENTS, event_body(), format="json")

    assert response.json()["repeat_count"] == 1


def test_an_event_links_its_job_when_the_job_is_known(worker_client):
    job = JobFactory(external_id="JOB-42")

    worker_client.post(EVENTS, event_body(job="JOB-42"), format="json")

    assert RepairEvent.objects.get().job == job


def test_an_unknown_job_is_kept_as_reported(worker_client):
    response = worker_client.post(EVENTS, event_body(job="JOB-NOWHERE"), format="json")

    event = RepairEvent.objects.get()
    assert event.job is None
    assert event.job_ref == "JOB-NOWHERE"
    assert response.json()["job"] == "JOB-NOWHERE"


def test_a_claim_with_no_job_is_accepted(worker_client):
    body = event_body()
    del body["job"]

    response = worker_client.post(EVENTS, body, format="json")

    assert response.status_code == 201
    assert response.json()["job"] is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("gate", "not_a_gate"),
        ("gate", None),
        ("error_class", "has spaces!"),
        ("error_class", ""),
        ("error_class", "x" * 101),
        ("job", "j" * 201),
        ("phase", "p" * 201),
        ("action", "not an action"),
        ("message", "m" * 4001),
        ("message", "nul\x00byte"),
        ("evidence", ["not", "text"]),
        ("occurred_at", "yesterday-ish"),
        ("occurred_at", (timezone.now() + timedelta(days=1)).isoformat()),
    ],
)
def test_each_bad_field_gets_a_problem_document_naming_it(worker_client, field, value):
    response = worker_client.post(EVENTS, event_body(**{field: value}), format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 400
    assert problem["type"].endswith("/validation-error")
    assert [error["pointer"] for error in problem["errors"]] == [f"#/{field}"]
    assert not RepairEvent.objects.exists()


def test_missing_required_fields_are_each_named(worker_client):
    response = worker_client.post(EVENTS, {}, format="json")

    pointers = {error["pointer"] for error in response.json()["errors"]}
    assert pointers == {"#/gate", "#/error_class"}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{not json", "application/json"),
        ("[1, 2, 3]", "application/json"),
        ('"just a string"', "application/json"),
        ("gate=stuck_claim", "application/x-www-form-urlencoded"),
    ],
)
def test_malformed_bodies_get_4xx_problems_not_500(worker_client, body, content_type):
    response = worker_client.generic("POST", EVENTS, body, content_type=content_type)

    assert 400 <= response.status_code < 500
    assert response["Content-Type"] == "application/problem+json"


def test_list_filters_by_gate_error_class_worker_job_and_since(worker, worker_client):
    worker_client.post(EVENTS, event_body(gate="friction", error_class="slow_ci"), format="json")
    worker_client.post(
        EVENTS,
        event_body(job="JOB-7", occurred_at=(timezone.now() - timedelta(days=3)).isoformat()),
        format="json",
    )

    def ids(**params):
        return [e["error_class"] for e in worker_client.get(EVENTS, params).json()["results"]]

    assert ids(gate="friction") == ["slow_ci"]
    assert ids(error_class="context_fetch_failed") == ["context_fetch_failed"]
    assert ids(job="JOB-7") == ["context_fetch_failed"]
    assert len(ids(worker=worker.name)) == 2
    assert ids(worker="nobody") == []
    assert ids(since=(timezone.now() - timedelta(days=1)).isoformat()) == ["slow_ci"]


def test_bad_filter_value_is_a_problem_naming_it(worker_client):
    response = worker_client.get(EVENTS, {"gate": "nope"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "#/gate"


def test_list_is_cursor_paginated_newest_first(worker_client):
    policy_set(auto_proposal_threshold=0)  # only the worker's own events in the list
    for n in range(5):
        worker_client.post(EVENTS, event_body(message=f"failure {n}"), format="json")

    first = worker_client.get(EVENTS, {"limit": 2}).json()
    second = worker_client.get(first["next"]).json()

    assert [e["message"] for e in first["results"]] == ["failure 4", "failure 3"]
    assert [e["message"] for e in second["results"]] == ["failure 2", "failure 1"]
    assert "cursor=" in first["next"]


def test_repeat_count_counts_every_report_of_the_window(worker_client):
    # Counted on the fingerprint's buckets: no cap, and no earlier event is read.
    for n in range(5):
        response = worker_client.post(EVENTS, event_body(job=f"JOB-{n}"), format="json")

    assert response.json()["repeat_count"] == 5


def test_a_report_reads_no_earlier_events(worker_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    worker_client.post(EVENTS, event_body(), format="json")
    with CaptureQueriesContext(connection) as queries:
        worker_client.post(EVENTS, event_body(), format="json")

    reads = [
        q["sql"]
        for q in queries
        if q["sql"].startswith("SELECT") and "worker_repair_events" in q["sql"]
    ]
    assert reads == []
