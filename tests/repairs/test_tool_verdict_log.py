"""The verdict log (issue 14 item 4): shown read-only in the console, counted on the
scorecard, purged after ``PLS_RETAIN_VERDICTS_DAYS`` while the requests it opened stay."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.retention import retention_purge
from repairs.models import RepairEvent, SelfHealRequest, ToolVerdict

pytestmark = pytest.mark.django_db

VERDICTS = "/api/v1/tool-verdicts"


def ask(client, command: str) -> dict:
    body = {"tool_name": "Bash", "tool_input": {"command": command}}
    response = client.post(VERDICTS, body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def verdicts(worker_client) -> list[dict]:
    return [
        ask(worker_client, command)
        for command in ("ls", "cat README.md", "git push -f", "docker restart web-1")
    ]


def test_the_scorecard_counts_verdicts_by_decision_and_rule(verdicts, session_client, viewer):
    card = session_client(viewer).get("/api/v1/scorecard", {"days": 1}).json()

    assert card["tool_verdicts"] == {
        "total": 4,
        "by_decision": {"allowed": 2, "needs_approval": 1, "denied": 1},
        "by_rule": [
            {"rule": "read-only shell", "count": 2},
            {"rule": "docker restart or stop", "count": 1},
            {"rule": "git force push", "count": 1},
        ],
    }


def test_the_console_lists_the_log_and_offers_no_edit(verdicts, client, owner):
    client.force_login(owner)
    changelist = reverse("admin:repairs_toolverdict_changelist")

    page = client.get(changelist)
    detail = client.get(
        reverse("admin:repairs_toolverdict_change", args=[verdicts[0]["decision_id"]])
    )
    delete = client.post(
        reverse("admin:repairs_toolverdict_delete", args=[verdicts[0]["decision_id"]]),
        {"post": "yes"},
    )

    assert page.status_code == 200
    assert "git force push" in page.content.decode()
    assert detail.status_code == 200 and b'name="_save"' not in detail.content
    assert delete.status_code == 403
    assert ToolVerdict.objects.count() == 4


def test_old_verdicts_are_purged_and_the_requests_they_opened_stay(verdicts, settings):
    settings.PLS_RETAIN_VERDICTS_DAYS = 30
    requests = set(SelfHealRequest.objects.values_list("pk", flat=True))
    events = set(RepairEvent.objects.values_list("pk", flat=True))

    early = retention_purge(now=timezone.now() + timedelta(days=20), only=["verdicts"])
    late = retention_purge(now=timezone.now() + timedelta(days=31), only=["verdicts"])

    assert (early["verdicts"].removed, late["verdicts"].removed) == (0, 4)
    assert not ToolVerdict.objects.exists()
    assert set(SelfHealRequest.objects.values_list("pk", flat=True)) == requests != set()
    assert set(RepairEvent.objects.values_list("pk", flat=True)) == events


def test_the_console_home_draws_the_verdict_counts_by_decision_and_rule(verdicts, client, viewer):
    client.force_login(viewer)

    html = client.get("/admin/?days=1").content.decode()

    tile = re.search(r'id="tile-tool-verdicts">(.*?)</div>', html, re.S)
    assert tile is not None
    assert '<span class="figure">4</span>' in tile[1]
    assert "1 denied, 1 needing approval" in tile[1]
    assert row(html, "tool-verdicts-by-decision") == "allowed 2 · needs approval 1 · denied 1"
    assert row(html, "tool-verdicts-by-rule") == (
        "read-only shell 2 · docker restart or stop 1 · git force push 1"
    )


def test_the_console_home_says_when_no_tool_call_was_judged(client, viewer):
    client.force_login(viewer)

    html = client.get("/admin/").content.decode()

    assert row(html, "tool-verdicts-by-decision") == "allowed 0 · needs approval 0 · denied 0"
    assert "No tool call in the window." in row(html, "tool-verdicts-by-rule")


def row(html: str, row_id: str) -> str:
    """The text of the scorecard breakdown's row ``row_id``."""
    found = re.search(rf'<tr id="{row_id}"><th[^>]*>[^<]*</th><td>(.*?)</td></tr>', html, re.S)
    assert found is not None, row_id
    return re.sub(r"<[^>]+>", "", found[1])
