"""The console's column headings, filter titles, form labels and fieldset titles of the
policies, notifications and learning screens come from the models' and admins' field names:
read in zh-Hant, each is Chinese, none the English a field name would give."""

import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from core.profiles import profile_update
from learning.models import PromptPackExport
from notifications.models import ChatIdentity, OwnerReport
from policies.models import Proposal
from policies.selectors import policy_current
from tests.factories import ChannelFactory, LearningUpdateFactory, policy_set
from tests.i18n.catalogue import visible_text

pytestmark = pytest.mark.django_db

# Codes that read the same in any language, and the action names the glossary keeps.
KEPT_IN_ENGLISH = {"ID", "URL", "API", "TTL", "touch", "webhook"}


@pytest.fixture
def rows(db):
    """One row of each model, so every list has a row and every change page something to show."""
    decision_policy = policy_set(max_auto_retries=2)
    channel = ChannelFactory(name="ops-webhook", team="alpha")
    owner = User.objects.create_user("mei")
    return {
        "policies_workerpolicy": decision_policy,
        "policies_proposal": Proposal.objects.create(
            kind=Proposal.Kind.REPAIR, title="Retry lease_expired twice", occurrences=3
        ),
        "notifications_channel": channel,
        "notifications_ownerreport": OwnerReport.objects.create(
            channel=channel, title="Worker w-1 is stuck", source="self_heal.pending"
        ),
        "notifications_chatidentity": ChatIdentity.objects.create(
            kind="telegram", provider_user_id="42", display_name="Mei", user=owner
        ),
        "learning_learningmemoryupdate": LearningUpdateFactory(),
        "learning_promptpackexport": PromptPackExport.objects.create(
            team="alpha", exported_by=owner, lesson_count=1, digest="0" * 64
        ),
    }


def shown(html: str, pattern: str) -> list[str]:
    """The visible text of each piece of ``html`` the pattern's group 1 finds."""
    # A label ends in a colon, full-width in Chinese.
    colons = " :\uff1a"
    return [visible_text(found).strip(colons) for found in re.findall(pattern, html, re.S)]


def headings(html: str) -> list[str]:
    """A changelist's column headings and filter titles (the checkbox column has none)."""
    columns = shown(html, r'<div class="text">(.*?)</div>')
    filters = re.findall(r'data-filter-title="([^"]*)"', html)
    return [text for text in columns + filters if text]


def labels(html: str) -> list[str]:
    """A change page's field labels and fieldset titles."""
    return shown(html, r"<label[^>]*>(.*?)</label>") + shown(
        html, r'<h2[^>]*class="fieldset-heading"[^>]*>(.*?)</h2>'
    )


def english(texts: list[str]) -> list[str]:
    """The texts that still hold an English word."""
    return [
        text
        for text in texts
        if any(word not in KEPT_IN_ENGLISH for word in re.findall(r"[A-Za-z]{2,}", text))
    ]


LISTS = {
    "policies_workerpolicy": (
        ["版本", "現行", "自動重試上限", "重複判定時間窗", "核准有效時間", "建立者", "建立時間"],
        ["Version", "Created by", "Repeat window"],
    ),
    "policies_proposal": (
        ["標題", "種類", "狀態", "出現次數", "受影響的工作者", "指紋", "更新時間"],
        ["Title", "Affected workers", "Occurrences", "Updated at"],
    ),
    "policies_policydecision": (
        ["決策時間", "決策", "提案", "決策者", "政策 變更前 → 變更後", "變更內容"],
        ["Decided at", "Decided by", "Policy before → after", "Changes"],
    ),
    "notifications_channel": (
        ["名稱", "啟用", "角色", "團隊", "最低狀態", "靜音至", "目的地", "重試時間", "備援通道"],
        ["Min status", "Muted until", "Destination", "Retry at", "Enabled"],
    ),
    "notifications_ownerreport": (
        [
            "建立時間",
            "通道",
            "傳送狀態",
            "狀態",
            "來源",
            "標題",
            "任務 ID",
            "嘗試次數",
            "送出時間",
            "已抑制",
            "去向",
        ],
        ["Source", "Attempts", "Sent at", "Suppressed count", "Went to"],
    ),
    "notifications_chatidentity": (
        ["種類", "顯示名稱", "供應商使用者 ID", "使用者", "連結途徑", "連結時間"],
        ["Display name", "Provider user id", "Linked through", "Linked at"],
    ),
    "learning_learningmemoryupdate": (
        ["審查", "團隊", "種類", "錯誤類別", "教訓", "最後出現時間"],
        ["Review", "Kind", "Last seen at"],
    ),
    "learning_promptpackexport": (
        ["匯出時間", "團隊", "匯出者", "教訓數", "雜湊值"],
        ["Exported by", "Lesson count", "Digest"],
    ),
}

FORMS = {
    "policies_workerpolicy": (
        ["版本", "由決策產生", "核准提醒", "受保護資源", "工具規則", "工具預設動作", "已知修復"],
        ["Approval reminders", "Protected resources", "Tool rules", "Known repairs"],
    ),
    "policies_proposal": (
        ["詳細內容", "問題鍵", "受影響的工作者", "建議的政策變更", "決策"],
        ["Detail", "Question key", "Decision records"],
    ),
    "notifications_channel": (
        ["網址", "權杖", "目標", "API 基底網址", "舊式簽章", "接收哪些報告", "傳送狀況"],
        ["Url", "Token", "Target", "Legacy signature", "Which reports", "Delivery"],
    ),
    "notifications_ownerreport": (
        ["下一步", "去重鍵", "決策種類", "群組大小", "併入群組"],
        ["Next step", "Dedup key", "Group size", "Grouped into"],
    ),
    "learning_learningmemoryupdate": (
        ["修正", "下一輪優先順序", "出現次數", "審查者", "事件"],
        ["Fix", "Next round priority", "Reviewed by"],
    ),
    "learning_promptpackexport": (
        ["匯出者", "教訓數", "雜湊值"],
        ["Exported by", "Lesson count"],
    ),
}


PAGES = [(name, "changelist") for name in sorted(LISTS)] + [
    (name, "change") for name in sorted(FORMS)
]


@pytest.mark.parametrize(("name", "page"), PAGES)
def test_every_heading_filter_and_label_reads_in_chinese(chinese_client, rows, name, page):
    args = [rows[name].pk] if page == "change" else []
    response = chinese_client.get(reverse(f"admin:{name}_{page}", args=args))
    assert response.status_code == 200
    html = response.content.decode()
    found = labels(html) if page == "change" else headings(html)

    chinese, english_names = (FORMS if page == "change" else LISTS)[name]
    assert set(chinese) <= set(found), found
    assert not set(english_names) & set(found)
    assert english(found) == []


def test_the_same_pages_keep_their_english_names_for_an_english_reader(client, rows):
    person = User.objects.create_superuser("owner-en", password="x")
    profile_update(user=person, language="en")
    client.force_login(person)

    channels = headings(client.get(reverse("admin:notifications_channel_changelist")).text)
    policy = policy_current()
    form = labels(client.get(reverse("admin:policies_workerpolicy_change", args=[policy.pk])).text)

    assert {"Minimum status", "Muted until", "Destination"} <= set(channels)
    assert {"Approval reminders", "Tool rules", "Known repairs"} <= set(form)


def test_a_channel_the_model_refuses_says_why_in_chinese(chinese_client):
    response = chinese_client.post(
        reverse("admin:notifications_channel_add"),
        {"name": "ops-discord", "kind": "discord", "enabled": "on", "min_status": "normal"},
    )

    assert response.status_code == 200  # the form again, not a redirect
    errors = visible_text(str(response.context["adminform"].form.errors))
    assert "這種通道必須填寫。" in errors
    assert "Required for this kind of channel." not in errors
