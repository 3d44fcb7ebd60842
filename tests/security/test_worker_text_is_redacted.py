"""Text a worker sends is redacted before it is stored or shown, in every free-text field: a
secret of each shape from issue 12's finding 5, sent in each field, is in neither the answer,
the stored row nor the console page.

(The self-heal target and a callback URL's userinfo are covered with the self-heal tests.)
"""

import html
import json
import re

import pytest
from django.urls import reverse

from learning.models import LearningMemoryUpdate
from repairs.models import Job, RepairEvent
from tests.factories import event_body, job_claimed_by
from tests.security.redaction_corpus import FINDINGS, Sample

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/worker-repair-events"
JOBS = "/api/v1/jobs"
UPDATES = "/api/v1/learning-memory-updates"

FINDING = pytest.mark.parametrize("finding", FINDINGS.values(), ids=FINDINGS.keys())


def _survives(secret: str, text: str, size: int = 8) -> bool:
    """Any run of ``size`` characters of the secret is there; markers do not count."""
    text = re.sub(r"\[REDACTED:\w+\]", "", text)
    pieces = {secret[i : i + size] for i in range(max(len(secret) - size, 0) + 1)}
    return any(piece in text for piece in pieces)


def _answer(response) -> str:
    return json.dumps(response.json(), ensure_ascii=False)


def _page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def _in_context(finding: Sample) -> str:
    return f"failed: {finding.text} (1)"


@FINDING
@pytest.mark.parametrize("field", ["message", "phase", "evidence"])
def test_a_secret_in_an_event_is_in_neither_the_answer_nor_the_stored_event(
    worker_client, finding, field
):
    assert len(_in_context(finding)) <= 200  # phase's limit

    response = worker_client.post(
        EVENTS, event_body(**{field: _in_context(finding)}), format="json"
    )

    assert response.status_code == 201, response.content
    assert not _survives(finding.secret, _answer(response))
    stored = getattr(RepairEvent.objects.get(pk=response.json()["id"]), field)
    assert not _survives(finding.secret, stored), stored
    assert f"[REDACTED:{finding.kind}]" in stored


@FINDING
def test_a_secret_in_an_event_is_not_on_its_console_page(client, owner, worker_client, finding):
    body = event_body(message=_in_context(finding), phase=finding.text, evidence=finding.text)
    event = worker_client.post(EVENTS, body, format="json").json()
    client.force_login(owner)

    page = _page(client, reverse("admin:repairs_repairevent_change", args=[event["id"]]))

    assert not _survives(finding.secret, page)
    assert "failed:" in page  # the page does show the message


@FINDING
def test_a_secret_in_a_job_title_is_not_stored_or_shown(client, owner, session_client, finding):
    response = session_client(owner).post(
        JOBS, {"external_id": "PLS-1", "title": _in_context(finding)}, format="json"
    )

    assert response.status_code == 201, response.content
    assert not _survives(finding.secret, _answer(response))
    job = Job.objects.get(external_id="PLS-1")
    assert not _survives(finding.secret, job.title)
    client.force_login(owner)
    assert not _survives(finding.secret, _page(client, reverse("admin:repairs_job_changelist")))


@FINDING
def test_a_secret_in_heartbeat_progress_is_not_stored_or_shown(
    client, owner, worker, worker_client, finding
):
    job = job_claimed_by(worker, external_id="PLS-1")

    response = worker_client.post(
        "/api/v1/jobs/PLS-1/heartbeat", {"progress": _in_context(finding)}, format="json"
    )

    assert response.status_code == 200, response.content
    assert not _survives(finding.secret, _answer(response))
    job.refresh_from_db()
    assert not _survives(finding.secret, job.progress)
    assert f"[REDACTED:{finding.kind}]" in job.progress
    client.force_login(owner)
    assert not _survives(
        finding.secret, _page(client, reverse("admin:repairs_job_change", args=[job.pk]))
    )


@FINDING
@pytest.mark.parametrize("kind", ["repair_lesson", "policy_friction"])
def test_a_secret_in_a_lesson_or_its_fix_is_not_stored_or_shown(
    client, owner, worker_client, finding, kind
):
    response = worker_client.post(
        UPDATES,
        {
            "kind": kind,
            "error_class": "context_fetch_failed",
            "lesson": f"Log in first: {finding.text}",
            "fix": _in_context(finding),
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    assert not _survives(finding.secret, _answer(response))
    update = LearningMemoryUpdate.objects.get(pk=response.json()["id"])
    assert not _survives(finding.secret, update.lesson)
    assert not _survives(finding.secret, update.fix)
    client.force_login(owner)
    page = _page(client, reverse("admin:learning_learningmemoryupdate_change", args=[update.pk]))
    assert not _survives(finding.secret, page)


def test_a_phase_full_of_secrets_still_fits_its_column(worker_client):
    """A marker is longer than a short secret: 18 of them in a 200-character phase would
    overflow the column (a 500 on PostgreSQL) unless the redacted text is cut to fit."""
    phase = " ".join(["password=a"] * 19)[:200]

    response = worker_client.post(EVENTS, event_body(phase=phase), format="json")

    assert response.status_code == 201, response.content
    stored = RepairEvent.objects.get().phase
    assert len(stored) <= 200
    assert "password=a" not in stored


def test_a_title_full_of_secrets_still_fits_its_column(owner, session_client):
    title = " ".join(["password=a"] * 28)[:300]

    response = session_client(owner).post(
        JOBS, {"external_id": "PLS-1", "title": title}, format="json"
    )

    assert response.status_code == 201, response.content
    stored = Job.objects.get().title
    assert len(stored) <= 300
    assert "password=a" not in stored
