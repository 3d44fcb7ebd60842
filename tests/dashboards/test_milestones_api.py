"""GET /api/v1/milestones: the D7 acceptance checks and the D1 / D7 / D14 / D30 milestones as
JSON, the same data the console home shows, for every human role and never for workers."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboards.milestones import d7_acceptance, milestones
from tests.factories import policy_set

pytestmark = pytest.mark.django_db

MILESTONES = "/api/v1/milestones"


@pytest.mark.parametrize("role", ["owner", "reviewer", "viewer"])
def test_every_human_role_reads_the_milestones(request, session_client, fleet, role):
    for error_class in ("lease_expired", "approval_wait", "context_fetch_failed"):
        fleet.event("stuck_claim", error_class)
    fleet.check("passed")

    response = session_client(request.getfixturevalue(role)).get(MILESTONES)

    assert response.status_code == 200
    body = response.json()
    assert [check["done"] for check in body["acceptance"]] == [True, True, False]
    assert body["accepted"] is False
    assert [m["key"] for m in body["milestones"]] == ["D1", "D7", "D14", "D30"]
    events, passes, decisions = body["acceptance"]
    assert events["records"] == "http://testserver/admin/repairs/repairevent/"
    assert passes["records"].endswith("/admin/artifacts/artifactgatecheck/?status__exact=passed")
    assert passes["at"] is not None and decisions["at"] is None
    assert decisions["detail"] == "no decision yet"


def test_the_json_says_what_the_console_home_computes(session_client, viewer, fleet, monkeypatch):
    policy_set(max_auto_retries=2)
    eight_days_on = timezone.now() + timedelta(days=8)  # policies are append-only: move the clock
    monkeypatch.setattr(timezone, "now", lambda: eight_days_on)

    body = session_client(viewer).get(MILESTONES).json()
    monkeypatch.undo()

    expected = milestones(d7_acceptance())
    assert [m["key"] for m in body["milestones"]] == [m.key for m in expected]
    for shown, milestone in zip(body["milestones"], expected, strict=True):
        assert shown["title"] == milestone.title
        assert [c["done"] for c in shown["checks"]] == [c.done for c in milestone.checks]
        assert [c["detail"] for c in shown["checks"]] == [c.detail for c in milestone.checks]
    d1, d7, d14, _d30 = body["milestones"]
    assert d1["state"] == "reached"  # policy published, questions asked (migrations)
    assert d7["state"] == "overdue"  # eight days after the interim policy, not accepted
    assert d14["state"] == "open"  # due on day 14
    assert d7["checks"][0]["records"] == "http://testserver/admin/#d7-acceptance"
    assert d1["due"] is not None and d1["reached_at"] is not None
    assert d7["reached_at"] is None


def test_a_reached_milestone_says_when(session_client, viewer, fleet):
    fleet.event("stuck_claim", "lease_expired")
    for _ in range(2):
        fleet.event("friction", "approval_wait")
    fleet.check("passed")
    policy_set(max_auto_retries=2)

    body = session_client(viewer).get(MILESTONES).json()

    assert body["accepted"] is True
    assert all(check["at"] for check in body["acceptance"])


def test_workers_do_not_read_the_milestones(worker_client):
    assert worker_client.get(MILESTONES).status_code == 403
