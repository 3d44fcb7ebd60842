"""A worker reads and changes only its own records: events, self-heal requests, artifact
checks, its team's learning memory, and the claims it holds.

Every endpoint that takes an id (or a job's external id) is called by worker ``alpha`` with
one of worker ``beta``'s, with every method it answers; each is refused (404 where the
record is invisible to alpha, 403 where the role or the holder rule refuses, 409 where the
spec says so: claiming a job another worker holds), and beta's records are unchanged.

A worker reads the open jobs and its own; of beta's job it reads at most the status
(tests/repairs/test_workers_see_their_own_jobs.py). A claim refused because beta holds the
job still names beta, so that alpha knows why.
"""

import pytest
from django.forms.models import model_to_dict

from artifacts.models import ArtifactGateCheck
from learning.models import LearningMemoryUpdate
from repairs.models import Job, RepairEvent, SelfHealRequest

API = "/api/v1"


def _state(records) -> dict:
    """Everything stored about one worker's records, to compare before and after."""
    return {
        "job": model_to_dict(Job.objects.get(external_id=records.job)),
        "event": model_to_dict(RepairEvent.objects.get(pk=records.event)),
        "request": model_to_dict(SelfHealRequest.objects.get(pk=records.self_heal_request)),
        "check": model_to_dict(ArtifactGateCheck.objects.get(pk=records.artifact_check)),
        "lesson": model_to_dict(LearningMemoryUpdate.objects.get(pk=records.learning_update)),
        "events": RepairEvent.objects.filter(worker=records.worker).count(),
        "checks": ArtifactGateCheck.objects.filter(worker=records.worker).count(),
    }


# (method, path with beta's ids, body, statuses that count as refused)
CALLS = [
    ("post", "/worker-repair-events/{event}/outcome", {"outcome": "resolved"}, {404}),
    ("get", "/self-heal-requests/{self_heal_request}", None, {404}),
    ("post", "/self-heal-requests/{self_heal_request}/approve", {"note": "mine now"}, {403}),
    ("post", "/self-heal-requests/{self_heal_request}/reject", {"note": "no"}, {403}),
    ("get", "/artifact-gate-checks/{artifact_check}", None, {404}),
    ("get", "/learning-memory-updates/{learning_update}", None, {404}),
    ("patch", "/learning-memory-updates/{learning_update}", {"lesson": "overwritten"}, {403}),
    ("post", "/learning-memory-updates/{learning_update}/accept", None, {403}),
    ("post", "/learning-memory-updates/{learning_update}/retire", None, {403}),
    ("post", "/jobs/{job}/claim", None, {409}),
    ("post", "/jobs/{job}/heartbeat", {"progress": "mine now"}, {403}),
    ("post", "/jobs/{job}/release", {"message": "let go"}, {403}),
    ("post", "/jobs/{job}/reclaim", {"message": "give it to me"}, {409}),
    ("post", "/jobs/{job}/complete", None, {403}),
    ("get", "/learning/prompt-pack?team={team}", None, {403}),
    # A check of beta's job, or a lesson hung on beta's event.
    ("post", "/artifact-gate-checks", {"job": "{job}", "primary_url": "https://a.example"}, {403}),
    ("post", "/learning-memory-updates", {"kind": "repair_lesson", "error_class": "x",
                                          "lesson": "stolen", "event": "{event}"}, {400}),
]  # fmt: skip


def _fill(value, records):
    ids = {
        "event": records.event,
        "self_heal_request": records.self_heal_request,
        "artifact_check": records.artifact_check,
        "learning_update": records.learning_update,
        "job": records.job,
        "team": records.worker.team,
    }
    if isinstance(value, dict):
        return {key: _fill(item, records) for key, item in value.items()}
    if isinstance(value, str):
        filled = value.format(**ids)
        return int(filled) if value == "{event}" else filled
    return value


@pytest.mark.parametrize(("method", "path", "body", "refused"), CALLS, ids=[c[1] for c in CALLS])
def test_a_worker_is_refused_on_another_workers_record(alpha, beta, method, path, body, refused):
    before = _state(beta)

    response = getattr(alpha.client(), method)(
        API + _fill(path, beta), _fill(body, beta), format="json"
    )

    assert response.status_code in refused, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert _state(beta) == before


@pytest.mark.parametrize(
    ("path", "own"),
    [
        ("/worker-repair-events", "event"),
        ("/self-heal-requests", "self_heal_request"),
        ("/artifact-gate-checks", "artifact_check"),
        ("/learning-memory-updates", "learning_update"),
    ],
)
def test_a_worker_lists_only_its_own_records(alpha, beta, path, own):
    # Even when it asks for the other worker's by name.
    for query in ({}, {"worker": beta.worker.name}):
        response = alpha.client().get(API + path, query)

        assert response.status_code == 200
        ids = {row["id"] for row in response.json()["results"]}
        assert getattr(beta, own) not in ids
        if not query:
            assert getattr(alpha, own) in ids


def test_a_worker_cannot_report_an_event_as_another_worker(alpha, beta):
    response = alpha.client().post(
        f"{API}/worker-repair-events",
        {"gate": "friction", "error_class": "spoofed", "worker": beta.worker.name},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["worker"] == alpha.worker.name
    assert not RepairEvent.objects.filter(worker=beta.worker, error_class="spoofed").exists()


def test_a_worker_sees_only_itself_under_workers_me(alpha, beta):
    response = alpha.client().get(f"{API}/workers/me")

    assert response.json()["name"] == alpha.worker.name
    assert response.json()["held_jobs"] == [alpha.job]
