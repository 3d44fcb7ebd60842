"""Every console page, admin list and change form, and the owner's digests and reports,
read in zh-Hant show no English a person can read, whether or not its string was ever marked
(``tests/i18n/unmarked.py`` says what counts as English and what is let through).

The records the pages show are made here with Chinese or code-like data (``JOB-3``,
``stuck_claim``, fingerprints), so any English left on a page is the console's own."""

import contextlib

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.urls import NoReverseMatch, reverse

from core.profiles import profile_update
from learning.models import LearningMemoryUpdate, PromptPackExport
from notifications import digests
from notifications.models import Channel, ChatIdentity, OwnerReport
from notifications.render import render
from notifications.services import digest_enqueue, report_enqueue
from policies.models import Proposal
from policies.selectors import policy_current
from policies.services import policy_change
from repairs.models import Job, RepairEvent, SelfHealRequest, ToolVerdict, Worker
from repairs.services import worker_token_issue
from tests.dashboards.fleet import Fleet
from tests.factories import (
    ChannelFactory,
    LearningUpdateFactory,
    UserFactory,
    client_for,
    event_body,
)
from tests.i18n.unmarked import english_runs, unmarked_english, visible_pieces

pytestmark = pytest.mark.django_db

TEAM = "team-7"
CHANNEL = "值班頻道"


def test_the_checker_flags_an_unmarked_heading_and_lets_codes_through():
    html = """
    <html><head><title>PLS 作戰台</title><style>.retry { color: red }</style></head><body>
    <h1>Pending approvals</h1>
    <p>待核准 3 件 · PLS API JSON CSV NDJSON SHA-256 D7 UTC Asia/Taipei LINE Telegram</p>
    <p>工作者 codex-17 在 JOB-17 回報 stuck_claim（lease_expired），指紋 9f86d081884c7d65</p>
    <p>Go</p><td translate="no">release</td>
    <input type="hidden" value="Secret value"><input type="submit" value="Save draft">
    <a href="#" title="Open the scorecard">計分卡</a><code>curl https://example.com</code>
    <pre>Traceback (most recent call last)</pre><textarea>typed by a person</textarea>
    <script>let notShown = "Hidden text";</script>
    </body></html>
    """

    assert unmarked_english(html) == ["Pending approvals", "Save draft", "Open the scorecard"]
    assert english_runs("重試 again 一次") == ["again"]  # one word of four letters
    assert english_runs("再 go on 一次") == ["go on"]  # two short words in a row
    assert english_runs("以 PLS 的 API 匯出 JSON，到 D7 與 https://x.example/a_b") == []
    assert english_runs("Claude Code 的 release 動作，以 'none' 表示") == []  # names, codes
    assert "PLS 作戰台" in visible_pieces(html)


@pytest.fixture
def chinese_client(client):
    person = User.objects.create_superuser("owner-7", email="owner-7@example.com", password="x")
    profile_update(user=person, language="zh-hant")
    client.force_login(person)
    return client


@pytest.fixture
def records(db, settings) -> Fleet:
    """One row or more of every model the console lists, in Chinese or code-like data."""
    # A console in zh-Hant, as shipped (PLS_LANGUAGE): what the services store in words (a
    # verdict's reason, an audit entry's object name) is written in the console's language.
    settings.LANGUAGE_CODE = "zh-hant"
    fleet = Fleet()
    fleet.event("stuck_claim", "lease_expired", action="release")
    fleet.event("artifact_guard", "completion_blocked")
    fleet.request()
    fleet.request(status="approved", latency=90)
    fleet.check("passed")
    Job.objects.update(title="修正不穩定的建置")
    Proposal.objects.create(kind=Proposal.Kind.REPAIR, title="lease_expired 重試兩次")
    LearningUpdateFactory(team=TEAM, lesson="擷取內容失敗時重試一次")
    ChannelFactory(name=CHANNEL, language="zh-hant")
    Worker.objects.update(team=TEAM)
    worker = fleet.worker
    owner = UserFactory(is_superuser=True)
    token, _raw = worker_token_issue(worker=worker, issued_by=owner, label="值班-1")
    policy_change(
        policy=policy_current(), changes={"max_auto_retries": 2}, rationale="多重試一次", user=owner
    )
    ToolVerdict.objects.create(
        worker=worker,
        token=token,
        agent=ToolVerdict.Agent.CODEX,
        tool_name="exec_command",
        tool_input="{}",
        digest="9f86d081884c7d65",
        rule="規則-1",
        policy=policy_current(),
        verdict="allowed",
        action="diagnose",
        reason="唯讀指令",
    )
    ChatIdentity.objects.create(
        kind="telegram", provider_user_id="4242", display_name="@值班", user=owner
    )
    PromptPackExport.objects.create(
        team=TEAM, exported_by=owner, digest="9f86d081884c7d65", lesson_count=1
    )
    report_enqueue(source="job.stuck", title="工作 JOB-1 卡住了", team=TEAM, channel=CHANNEL)
    LogEntry.objects.log_actions(
        user_id=owner.pk, queryset=[worker], action_flag=CHANGE, change_message="[]"
    )
    login = {"username": "owner-7", "ip_address": "127.0.0.1", "user_agent": "curl/8.5"}
    AccessAttempt.objects.create(
        **login, path_info="/admin/login/", get_data="", post_data="", failures_since_start=1
    )
    AccessLog.objects.create(**login, path_info="/admin/login/")
    AccessFailureLog.objects.create(**login, path_info="/admin/login/", locked_out=True)
    return fleet


def pages(client) -> list[str]:
    """The home; every list its app list links to, its add form and the change form of its
    first row; and the console's own pages."""
    home = client.get(reverse("admin:index"))
    urls = [reverse("admin:index")]
    for app in home.context["app_list"]:
        for model in app["models"]:
            urls.append(model["admin_url"])
            if model.get("add_url"):
                urls.append(model["add_url"])
            row = model["model"]._default_manager.order_by("pk").first()
            if row is not None:
                opts = model["model"]._meta
                with contextlib.suppress(NoReverseMatch):  # a list without change forms
                    urls.append(
                        reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk])
                    )
    return [
        *urls,
        reverse("admin:policies_workerpolicy_change_policy"),
        reverse("admin:learning_learningmemoryupdate_prompt_pack") + f"?team={TEAM}",
        reverse("admin:notifications_ownerreport_purge"),
        reverse("admin:console_my_settings"),
        reverse("admin:console_chat_link"),
    ]


# The actions that answer with a page of their own (admin/<app>/<model>/decide.html, the
# tokens and secrets shown once), each on the latest row of its model.
ACTION_PAGES = [
    (SelfHealRequest, "approve"),
    (SelfHealRequest, "reject"),
    (RepairEvent, "mark_resolved"),
    (Proposal, "adopt"),
    (Proposal, "reject"),
    (Worker, "pause"),
    (Worker, "issue_token"),
    (Channel, "rotate_webhook_secret"),
]


def posted_pages(client) -> list[tuple[str, HttpResponse]]:
    """Each action's page, as the first POST from its list shows it, the chat link page with
    its code, and the policy change's preview."""
    shown = []
    for model, action in ACTION_PAGES:
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        row = model._default_manager.order_by("-pk").first()
        response = client.post(url, {"action": action, ACTION_CHECKBOX_NAME: [row.pk]})
        shown.append((f"{url} (action {action})", response))
    # The chat link page with its one-time code.
    link = reverse("admin:console_chat_link")
    shown.append((f"{link} (code)", client.post(link)))
    # The policy change's preview: the diff and the replay of the recent actions and tool calls.
    page = reverse("admin:policies_workerpolicy_change_policy")
    form = client.get(page).context["form"]
    typed = {name: form[name].value() for name in form.fields}
    typed.update(max_auto_retries=3, rationale="不穩定的建置多試一次", _preview="1")
    shown.append((f"{page} (preview)", client.post(page, typed)))
    return shown


def test_every_console_page_reads_in_chinese(chinese_client, records):
    urls = pages(chinese_client)
    assert len(urls) > 30  # every list, its forms and the console's own pages

    left = {}
    responses = [(url, chinese_client.get(url)) for url in urls]
    for url, response in [*responses, *posted_pages(chinese_client)]:
        assert response.status_code == 200, url
        assert response["Content-Language"] == "zh-hant", url
        english = unmarked_english(response.content.decode())
        if english:
            left[url] = english
    assert left == {}, "English left on the pages:\n" + "\n".join(
        f"{url}: {english}" for url, english in left.items()
    )


def test_the_owner_digests_and_reports_read_in_chinese_on_a_chinese_channel(records):
    """The digests, and the report a worker's request for approval raises, as the channel
    reads them (``notifications.render``)."""
    LearningMemoryUpdate.objects.update(review="pending")
    fleet = records
    fleet.event("friction", "policy_blocked")
    for name in (digests.DAILY_SCORECARD, digests.WEEKLY_LEARNING):
        assert [report.channel.name for report in digest_enqueue(name=name)] == [CHANNEL]
    # A release needs the risk reviewer: the service raises the self-heal request's report.
    asked = client_for(fleet.worker).post(
        "/api/v1/worker-repair-events",
        event_body(action="release", message="JOB-1 的租約已過期", evidence="lease_expired"),
        format="json",
    )
    assert asked.status_code == 201, asked.content

    left = {}
    reports = OwnerReport.objects.filter(channel__name=CHANNEL).order_by("pk")
    assert reports.count() >= 4  # the fixture's report, the two digests, the request's
    for report in reports:
        message = render(report)
        english = [run for line in message.text.splitlines() for run in english_runs(line)]
        if english:
            left[f"{report.source} #{report.pk}"] = english
    assert left == {}, "English left in the reports:\n" + "\n".join(
        f"{source}: {english}" for source, english in left.items()
    )
