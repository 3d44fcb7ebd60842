"""``?format=ndjson`` and ``?format=csv`` on the list endpoints: every row the list's filters
and the caller's rights select, rendered as the list renders it, with CSV cells safe from
spreadsheet formulas; the console's changelists offer the same with their own filters."""

import csv
import io
import json

import pytest
from django.urls import reverse

from policies.models import PolicyDecision
from repairs.models import RepairEvent
from tests.console import EVENTS
from tests.factories import LearningUpdateFactory, WorkerFactory, client_for, event_body, policy_set

pytestmark = pytest.mark.django_db


def body_of(response) -> str:
    assert response.status_code == 200, response
    return b"".join(response.streaming_content).decode()


def ndjson(response) -> list[dict]:
    assert response["Content-Type"] == "application/x-ndjson"
    return [json.loads(line) for line in body_of(response).splitlines()]


def csv_rows(response) -> list[dict]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(body_of(response))))


def every_page(api, url: str, **query) -> list[dict]:
    rows, response = [], api.get(url, {**query, "limit": 2}).json()
    while True:
        rows += response["results"]
        if not response["next"]:
            return rows
        response = api.get(response["next"]).json()


@pytest.fixture
def events(worker_client):
    """Five events of two gates, one with a message a spreadsheet would run."""
    for n in range(3):
        worker_client.post(EVENTS, event_body(error_class=f"flaky_{n}"), format="json")
    for message in ('=HYPERLINK("http://evil.example","click")', "-1+2"):
        worker_client.post(
            EVENTS, event_body(gate="artifact_guard", message=message), format="json"
        )


def test_the_ndjson_export_holds_what_every_page_of_the_list_holds(session_client, viewer, events):
    api = session_client(viewer)

    for query in ({}, {"gate": "artifact_guard"}, {"error_class": "flaky_1"}):
        exported = ndjson(api.get(EVENTS, {**query, "format": "ndjson"}))
        assert exported == every_page(api, EVENTS, **query)
    assert len(ndjson(api.get(EVENTS, {"format": "ndjson", "gate": "artifact_guard"}))) == 2


def test_the_csv_export_has_the_lists_columns_and_defuses_formulas(session_client, viewer, events):
    response = session_client(viewer).get(EVENTS, {"format": "csv", "gate": "artifact_guard"})

    assert response["Content-Disposition"].startswith('attachment; filename="worker-repair-events-')
    rows = csv_rows(response)
    assert [row["message"] for row in rows] == [
        "'-1+2",
        '\'=HYPERLINK("http://evil.example","click")',
    ]
    assert rows[0]["gate"] == "artifact_guard"
    assert json.loads(rows[0]["verdict"])["action"] == "retry"  # nested values as JSON
    assert rows[0]["resolved_at"] == ""  # null is an empty cell


def test_a_worker_exports_only_its_own_events(worker_client, events):
    other = client_for(WorkerFactory())
    other.post(EVENTS, event_body(error_class="elsewhere"), format="json")

    exported = ndjson(worker_client.get(EVENTS, {"format": "ndjson"}))

    assert len(exported) == 5
    assert "elsewhere" not in {row["error_class"] for row in exported}


def test_a_refused_export_is_a_problem_document(session_client, viewer, worker_client):
    bad = session_client(viewer).get(EVENTS, {"format": "csv", "since": "yesterday"})
    assert bad.status_code == 400
    assert bad["Content-Type"] == "application/problem+json"

    refused = worker_client.get("/api/v1/audit-trail", {"format": "ndjson"})
    assert refused.status_code == 403
    assert refused.json()["status"] == 403


def test_the_json_list_stays_the_default(session_client, viewer, events):
    response = session_client(viewer).get(EVENTS)

    assert response["Content-Type"] == "application/json"
    assert len(response.json()["results"]) == 5


@pytest.mark.parametrize(
    ("url", "count"),
    [
        ("/api/v1/self-heal-requests", 1),
        ("/api/v1/policy-decisions", 1),
        ("/api/v1/learning-memory-updates", 1),
        ("/api/v1/artifact-gate-checks", 0),
        ("/api/v1/audit-trail", 1),
    ],
)
def test_every_record_list_exports_both_formats(url, count, session_client, owner, worker_client):
    worker_client.post(EVENTS, event_body(action="release"), format="json")  # a self-heal request
    policy_set(max_auto_retries=2)  # a decision, audited
    LearningUpdateFactory()
    api = session_client(owner)

    listed = every_page(api, url)
    assert len(listed) == count
    assert ndjson(api.get(url, {"format": "ndjson"})) == listed
    rows = csv_rows(api.get(url, {"format": "csv"}))
    assert [int(row["id"]) for row in rows] == [row["id"] for row in listed]


def test_the_console_exports_what_its_changelist_shows(client, viewer, events):
    client.force_login(viewer)
    changelist = reverse("admin:repairs_repairevent_changelist")

    page = client.get(changelist, {"gate__exact": "artifact_guard"}).content.decode()
    export = reverse("admin:repairs_repairevent_export", args=["csv"])
    assert f'href="{export}?gate__exact=artifact_guard"' in page

    rows = csv_rows(client.get(export, {"gate__exact": "artifact_guard"}))
    expected = RepairEvent.objects.filter(gate="artifact_guard").order_by("-pk")
    assert [int(row["id"]) for row in rows] == [event.pk for event in expected]
    searched = ndjson(
        client.get(reverse("admin:repairs_repairevent_export", args=["ndjson"]), {"q": "flaky_2"})
    )
    assert [row["error_class"] for row in searched] == ["flaky_2"]


def test_the_console_export_of_decisions_and_a_bad_filter(client, owner):
    policy_set(max_auto_retries=2)
    client.force_login(owner)

    rows = ndjson(client.get(reverse("admin:policies_policydecision_export", args=["ndjson"])))
    assert [row["id"] for row in rows] == list(PolicyDecision.objects.values_list("pk", flat=True))

    bad = client.get(
        reverse("admin:policies_policydecision_export", args=["csv"]), {"decided_at__year": "x"}
    )
    assert bad.status_code == 302 and bad["Location"].endswith("?e=1")
    assert (
        client.get(reverse("admin:policies_policydecision_export", args=["xlsx"])).status_code
        == 404
    )
