"""The repairs and artifacts screens in zh-Hant: every column heading, filter title and form
label reads in Chinese, none is the English its field's name would give (issue 15)."""

import re

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.text import capfirst

from artifacts.models import ArtifactGateCheck
from repairs.models import Job, RepairEvent, SelfHealRequest, ToolVerdict, Worker, WorkerToken
from tests.dashboards.fleet import Fleet
from tests.factories import issue_token
from tests.i18n.catalogue import english_entries, english_left, visible_text

pytestmark = pytest.mark.django_db

# Column headings (changelist), filter titles and form labels (change form).
SHOWN = re.compile(
    r'<th scope="col"[^>]*>.*?<div class="text">(?:<a [^>]*>|<span>)?([^<]+)'
    r'|data-filter-title="([^"]+)"'
    r"|<label[^>]*>([^<]+?):?</label>",
    re.S,
)


def shown_names(html: str) -> set[str]:
    return {"".join(match).strip().rstrip(":\uff1a") for match in SHOWN.findall(html)}


def english_field_names(model) -> set[str]:
    """Each field's heading as an English reader sees it: its verbose name, or the one
    Django derives from the field's name when it has none ("created_at" → "Created at")."""
    with translation.override("en"):
        return {
            capfirst(str(field.verbose_name))
            for field in model._meta.get_fields()
            if hasattr(field, "verbose_name")
        } - {"ID"}  # the same in both languages


# A few headings and labels as the people served read them, page by page.
CHINESE = {
    "/admin/repairs/repairevent/": {"發生時間", "關卡", "錯誤類別", "工作參照", "重複次數"},
    "/admin/repairs/job/": {"外部 ID", "標題", "優先順序", "卡住時間", "建立時間", "團隊"},
    "/admin/repairs/selfhealrequest/": {"核准者角色", "決策者", "涉及資源"},
    "/admin/artifacts/artifactgatecheck/": {"失敗的網址", "嘗試次數", "建立時間"},
}


@pytest.fixture
def rows(db, worker_client):
    fleet = Fleet()
    heal = fleet.request()
    issue_token(fleet.worker)
    asked = worker_client.post(
        "/api/v1/tool-verdicts",
        {"tool_name": "Bash", "tool_input": {"command": "ls"}},
        format="json",
    )
    assert asked.status_code == 200, asked.content
    return {
        Worker: fleet.worker,
        WorkerToken: WorkerToken.objects.filter(worker=fleet.worker).get(),
        Job: fleet.check("failed").job,
        RepairEvent: heal.event,
        SelfHealRequest: heal,
        ToolVerdict: ToolVerdict.objects.get(),
        ArtifactGateCheck: ArtifactGateCheck.objects.get(),
    }


def pages(model, row) -> list[str]:
    opts = model._meta
    return [
        reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
        reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk]),
    ]


def test_every_repairs_and_artifacts_screen_names_its_fields_in_chinese(chinese_client, rows):
    checked = set()
    for model, row in rows.items():
        english = english_field_names(model)
        for url in pages(model, row):
            response = chinese_client.get(url)
            assert response.status_code == 200, url
            assert response["Content-Language"] == "zh-hant", url
            html = response.content.decode()
            shown = shown_names(html)
            assert shown & english == set(), url
            assert CHINESE.get(url, set()) <= shown, url
            text = visible_text(html)
            for heading in ("Created at", "Fingerprint", "Occurred at", "External id"):
                assert heading not in text, (url, heading)
            checked.add(url)
    assert set(CHINESE) <= checked
    assert len(checked) == 14  # seven lists and seven change forms


@pytest.mark.parametrize(
    ("model", "action", "labels"),
    [
        (RepairEvent, "mark_resolved", {"教訓", "修正", "下一輪優先順序"}),
        (SelfHealRequest, "reject", {"備註"}),
        (Worker, "pause", {"原因"}),
    ],
)
def test_the_forms_an_action_asks_with_read_in_chinese(chinese_client, rows, model, action, labels):
    opts = model._meta
    page = chinese_client.post(
        reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
        {"action": action, "_selected_action": [rows[model].pk]},
    )

    assert page.status_code == 200
    html = page.content.decode()
    assert labels <= shown_names(html)
    assert english_left(html, english_entries()) == []
