# ruff: noqa: RUF001 (the Traditional Chinese answers use full-width punctuation)
"""What a person reads follows their language, what a program reads does not: a problem
document's ``detail`` (and a field error's) is in the caller's language while its ``type``,
``status`` and codes stay; a chat answer is in its channel's language (or the linked
person's); a report in each channel's; a seeded policy question in the reader's; the login
lockout page in the visitor's."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from core.profiles import profile_update
from notifications.models import OwnerReport
from policies.models import Proposal
from policies.seeded import SEEDED_TEXTS
from repairs.models import SelfHealRequest
from repairs.services import self_heal_requests_remind
from tests.chat.conftest import calls_to, linked
from tests.chat.test_telegram import API, REVIEWER_ID, press, send
from tests.factories import (
    ChannelFactory,
    JobFactory,
    WorkerFactory,
    event_body,
    held_job,
    policy_set,
)

pytestmark = pytest.mark.django_db
CHINESE = {"HTTP_ACCEPT_LANGUAGE": "zh-Hant-TW,zh;q=0.9,en;q=0.5"}
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


def both(client, method: str, path: str, body: dict | None = None) -> tuple[dict, dict]:
    answers = []
    for headers in (CHINESE, ENGLISH):
        response = getattr(client, method)(path, body or {}, format="json", **headers)
        assert response["Content-Type"] == "application/problem+json"
        answers.append(response.json())
    return answers[0], answers[1]


def test_a_404_detail_is_in_the_callers_language_and_its_type_is_not(worker_client):
    chinese, english = both(worker_client, "post", "/api/v1/jobs/JOB-404/heartbeat")

    assert english["detail"] == "No job JOB-404 is registered."
    assert chinese["detail"] == "沒有登記工作 JOB-404。"
    assert chinese["type"] == english["type"] and chinese["type"].endswith("/job-not-found")
    assert chinese["status"] == english["status"] == 404
    assert chinese["job"] == english["job"] == "JOB-404"


def test_a_403_detail_is_in_the_callers_language(worker, worker_client):
    held_job(WorkerFactory(), external_id="PLS-9")

    chinese, english = both(worker_client, "post", "/api/v1/jobs/PLS-9/heartbeat")

    assert english["detail"].startswith(f"{worker.name} does not hold job PLS-9; only its holder")
    assert chinese["detail"] == f"{worker.name} 並未持有工作 PLS-9；只有其持有者能送出它的心跳。"
    assert chinese["type"] == english["type"] and chinese["type"].endswith("/not-the-holder")
    assert chinese["status"] == english["status"] == 403


def test_a_409_detail_is_in_the_callers_language(owner, session_client):
    JobFactory(external_id="PLS-7")
    client = session_client(owner)  # no profile choice: Accept-Language decides

    chinese, english = both(client, "post", "/api/v1/jobs", {"external_id": "PLS-7", "title": "t"})

    assert english["detail"] == "Job PLS-7 is already registered."
    assert chinese["detail"] == "工作 PLS-7 已登記。"
    assert chinese["type"] == english["type"] and chinese["type"].endswith("/job-already-exists")
    assert chinese["status"] == english["status"] == 409


def test_a_field_error_is_in_the_callers_language_and_its_pointer_and_code_are_not(
    worker_client,
):
    future = (timezone.now() + timedelta(days=2)).isoformat()
    body = event_body(occurred_at=future)

    chinese, english = both(worker_client, "post", "/api/v1/worker-repair-events", body)

    assert [e["detail"] for e in english["errors"]] == ["occurred_at lies in the future."]
    assert [e["detail"] for e in chinese["errors"]] == ["occurred_at 位於未來。"]
    assert [(e["pointer"], e["code"]) for e in chinese["errors"]] == [
        (e["pointer"], e["code"]) for e in english["errors"]
    ]
    assert chinese["type"] == english["type"]


def test_a_tool_rule_problem_is_in_the_callers_language_under_its_field(owner, session_client):
    client = session_client(owner)
    policy = client.get("/api/v1/worker-policy/current").json()
    bad = {
        "name": "deploys",
        "tool": "Bash",
        "input": r"\bdeploy\s+(?P<target>\S+)",
        "action": "rerun_pipeline",
        "target": "target",
        "must_match": ["ship web"],
    }
    body = {"tool_rules": [bad], "rationale": "deploys need approval"}

    chinese, english = both(client, "patch", f"/api/v1/worker-policy/{policy['id']}", body)

    assert [e["detail"] for e in english["errors"]] == [
        "Tool rule 'deploys': the example 'ship web' should match."
    ]
    assert [e["detail"] for e in chinese["errors"]] == [
        "工具規則 'deploys'：範例 'ship web' 應該符合。"
    ]
    assert [e["pointer"] for e in chinese["errors"]] == [e["pointer"] for e in english["errors"]]


# --- Chat answers -------------------------------------------------------------------------


@pytest.fixture
def telegram(chat_channel, httpserver):
    for method in ("answerCallbackQuery", "editMessageReplyMarkup", "sendMessage"):
        httpserver.expect_request(f"{API}/{method}", method="POST").respond_with_json(
            {"ok": True, "result": {"message_id": 77}}
        )
    return chat_channel


def test_a_chat_answer_is_in_its_channels_language(telegram, pending, post, httpserver):
    channel = telegram("telegram", language="zh-hant")

    send(post, channel, press(f"sh:{pending.pk}:r", user_id=999))

    (answered,) = calls_to(httpserver, f"{API}/answerCallbackQuery")
    assert answered["text"].startswith("此聊天帳號尚未連結：未做任何決定。")
    assert answered["text"].endswith("/link <代碼>")


def test_on_a_channel_without_a_language_the_linked_person_is_answered_in_theirs(
    telegram, pending, reviewer, post, httpserver
):
    channel = telegram("telegram")
    profile_update(user=reviewer, language="zh-hant")
    linked(channel, reviewer, str(REVIEWER_ID))

    send(post, channel, press(f"sh:{pending.pk}:a"))

    (answered,) = calls_to(httpserver, f"{API}/answerCallbackQuery")
    assert answered["text"] == f"自修復請求 #{pending.pk} 已由 {reviewer.username} 核准。"
    pending.refresh_from_db()
    assert pending.status == SelfHealRequest.Status.APPROVED


# --- Reports ------------------------------------------------------------------------------


def test_a_reminder_is_titled_in_each_channels_language(worker_client, settings):
    settings.PLS_ESCALATION_ROLE = "risk_reviewer"
    settings.PLS_ESCALATION_CHANNEL = ""
    ChannelFactory(name="taipei", role="risk_reviewer", language="zh-hant")
    ChannelFactory(name="london", role="risk_reviewer", language="en", time_zone="Europe/London")
    policy_set(approval_reminders={"release": {"remind_after": 60, "escalate_after": 3600}})
    body = worker_client.post(
        "/api/v1/worker-repair-events", event_body(action="release"), format="json"
    ).json()
    request = SelfHealRequest.objects.get(pk=body["self_heal_request"])

    assert self_heal_requests_remind(now=request.created_at + timedelta(seconds=60)) == 1

    reminders = {r.channel.name: r for r in OwnerReport.objects.filter(source="self_heal.reminder")}
    worker = request.worker.name
    assert reminders["taipei"].title == f"提醒：{worker} 的自修復請求 #{request.pk} 仍待決"
    assert reminders["london"].title == (
        f"Reminder: self-heal request #{request.pk} from {worker} is still pending"
    )
    # Each says the deadline in its own clock.
    assert "(Asia/Taipei)" in reminders["taipei"].next_step
    assert "(Europe/London)" in reminders["london"].next_step
    assert reminders["taipei"].dedup_key == reminders["london"].dedup_key


# --- Seeded policy questions --------------------------------------------------------------


def test_every_seeded_question_text_is_marked_for_translation():
    for question in Proposal.objects.filter(kind=Proposal.Kind.POLICY_QUESTION):
        assert question.title in SEEDED_TEXTS
        assert question.detail in SEEDED_TEXTS


def test_a_seeded_question_is_shown_in_the_readers_language_and_stored_in_english(owner, client):
    question = Proposal.objects.get(question_key="auto_repair_proposal")
    english = "When the same error repeats twice, should a repair proposal be created"
    client.force_login(owner)

    profile_update(user=owner, language="zh-hant")
    chinese_home = client.get("/admin/").content.decode()
    profile_update(user=owner, language="en")
    english_home = client.get("/admin/").content.decode()

    assert "同一錯誤重複兩次時，是否應自動建立修復提案？" in chinese_home
    assert english not in chinese_home
    assert english in english_home
    question.refresh_from_db()
    assert question.title.startswith(english)


# --- The login lockout --------------------------------------------------------------------


def test_the_lockout_page_is_in_the_visitors_language(reviewer, settings):
    settings.AXES_ENABLED = True
    visitor = Client(HTTP_ACCEPT_LANGUAGE="zh-Hant-TW,zh;q=0.9")
    login = {"username": reviewer.username, "password": "guess", "next": "/admin/"}

    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        visitor.post("/admin/login/", login)
    locked = visitor.post("/admin/login/", login)

    assert locked.status_code == 429
    page = locked.content.decode()
    assert "登入失敗次數過多" in page
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    assert f"，為期 {minutes}\xa0分" in page  # Django's own words for the duration
    assert "Too many failed logins" not in page
