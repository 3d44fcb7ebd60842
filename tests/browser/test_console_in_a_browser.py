"""The console home in a real browser, once in each language: the risk reviewer logs in
through the form, approves a pending self-heal request from the home, sees it leave the queue
while the worker's poll turns ``approved``; the viewer then finds the queue without a single
approve button. Screenshots of the home are kept in the test artifacts folder
(docs/screenshots copies the README's from there)."""

from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.contrib.auth.models import Group

from dashboards.services import event_rollup_advance
from notifications.models import OwnerReport
from policies.models import Proposal
from policies.services import proposal_decide
from repairs.models import RepairEvent, Worker
from tests.dashboards.fleet import Fleet
from tests.factories import ChannelFactory, UserFactory, WorkerFactory, issue_token

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's
# The browser's own language (Accept-Language) for each console language: a person who never
# chose one in the header gets the console in their browser's.
BROWSER_LOCALE = {"zh-hant": "zh-TW", "en": "en-US"}
APPROVED = {"zh-hant": "自修復請求 #{} 已核准", "en": "Self-heal request #{} approved"}
DESKTOP, PHONE = 1440, 390


def person(role: str):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def escalate(base: str, token: str, job: str) -> int:
    """A worker asks to release a claim (risky: needs the risk reviewer), over HTTP."""
    response = requests.post(
        f"{base}/api/v1/worker-repair-events",
        json={
            "gate": "stuck_claim",
            "error_class": "lease_expired",
            "job": job,
            "action": "release",
            "message": f"lease on {job} expired after 900 s",
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()["self_heal_request"]


def poll(base: str, token: str, request_id: int) -> dict:
    response = requests.get(
        f"{base}/api/v1/self-heal-requests/{request_id}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def log_in(browser, base: str, username: str, language: str = "en", width: int = DESKTOP):
    context = browser.new_context(
        viewport={"width": width, "height": 1000}, locale=BROWSER_LOCALE[language]
    )
    page = context.new_page()
    page.goto(f"{base}/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#approvals")
    assert page.locator("html").get_attribute("lang") == language
    return page


@dataclass
class Cast:
    reviewer: str
    viewer: str
    token: str


@pytest.fixture(autouse=True)
def axes_on(settings):
    """Log in through django-axes, as in production (the test settings turn it off)."""
    settings.AXES_ENABLED = True


@pytest.fixture
def cast(live_server) -> Cast:
    """The people and the worker, written before the browser starts: Playwright's sync API
    runs an event loop in this thread, where Django refuses database calls. From then on the
    test talks HTTP only, as a browser and a worker do."""
    return Cast(
        reviewer=person("risk_reviewer").username,
        viewer=person("ops_viewer").username,
        token=issue_token(WorkerFactory()),
    )


@pytest.mark.parametrize("language", ["zh-hant", "en"])
def test_the_reviewer_approves_from_the_home_and_the_viewer_cannot(
    live_server, cast: Cast, artifacts_dir: Path, browser, language: str
):
    base, token = live_server.url, cast.token
    request_id = escalate(base, token, "JOB-41")
    assert poll(base, token, request_id)["status"] == "pending"

    page = log_in(browser, base, cast.reviewer, language)
    row = page.locator(f'tr.approval[data-request="{request_id}"]')
    assert "may-decide" in row.get_attribute("class")
    shot = f"console-home-{language}"
    page.screenshot(path=str(artifacts_dir / f"{shot}-reviewer.png"), full_page=True)

    row.locator('input[name="note"]').fill("release it, the lease is gone")
    row.locator('button[value="approve"]').click()
    page.wait_for_load_state()

    assert page.locator(f'tr.approval[data-request="{request_id}"]').count() == 0
    said = page.locator("ul.messagelist").inner_text()
    assert APPROVED[language].format(request_id) in said
    page.screenshot(path=str(artifacts_dir / f"{shot}-reviewer-approved.png"), full_page=True)
    polled = poll(base, token, request_id)
    assert (polled["status"], polled["decided_by"]) == ("approved", cast.reviewer)
    assert polled["note"] == "release it, the lease is gone"

    waiting = escalate(base, token, "JOB-42")
    page = log_in(browser, base, cast.viewer, language)

    assert page.locator(f'tr.approval[data-request="{waiting}"]').count() == 1
    assert page.locator('button[value="approve"]').count() == 0
    assert page.locator('button[value="reject"]').count() == 0
    page.screenshot(path=str(artifacts_dir / f"{shot}-viewer.png"), full_page=True)


# --- A busy fleet: every panel filled (the README's screenshot) --------------------------------


@pytest.fixture
def busy_fleet(live_server) -> Cast:
    """A month of a four-worker fleet, as the demo would look after some weeks."""
    fleet = Fleet()
    owner = UserFactory(username="owner", is_staff=True)
    owner.groups.add(Group.objects.get(name="pls_owner"))
    workers = [fleet.worker] + [WorkerFactory(team=team) for team in ("alpha", "beta", "beta")]
    month = fleet.now.date().replace(day=1)
    states = [
        ("running", 20_000, 12_400, ""),
        ("error", 10_000, 9_100, ""),
        ("paused", 5_000, 5_200, "monthly budget reached"),
        ("idle", 0, 0, ""),
    ]
    names = [
        ("codex-alpha-1", "codex"),
        ("claude-alpha-2", "claude_code"),
        ("codex-beta-3", "codex"),
        ("claude-beta-4", "claude_code"),
    ]
    for worker, (status, budget, spend, reason), (name, kind) in zip(
        workers, states, names, strict=True
    ):
        Worker.objects.filter(pk=worker.pk).update(
            name=name,
            kind=kind,
            status=status,
            monthly_budget_cents=budget,
            month_spend_cents=spend,
            budget_month=month,
            paused_reason=reason,
            last_heartbeat_at=fleet.ago(minutes=3 + 40 * workers.index(worker)),
        )
    shapes = [
        ("stuck_claim", "context_fetch_failed", "retry", "allowed"),
        ("stuck_claim", "lease_expired", "", ""),
        ("artifact_guard", "primary_url_404", "retry", "allowed"),
        ("artifact_guard", "completion_blocked", "", ""),
        ("friction", "approval_wait_too_long", "report_friction", "allowed"),
        ("stuck_claim", "complete_fetch_failed", "touch", "needs_approval"),
        ("worker_learning", "flaky_test_quarantined", "", ""),
    ]
    for day in range(30):
        for n in range((day * 7) % 11 + 3 + (30 - day) // 4):
            gate, error_class, action, decision = shapes[(day + n) % len(shapes)]
            fleet.event(
                gate,
                error_class,
                at=fleet.ago(days=day, minutes=5 + n * 17),
                action=action,
                decision=decision,
                outcome=("resolved", "resolved", "failed", "")[n % 4] if action else "",
                resolved_after=60 * (n % 9 + 2),
                worker=workers[n % len(workers)],
            )
    for minutes in (35, 50, 140, 400, 1300, 95):
        fleet.request(status="approved", latency=minutes * 60, created=fleet.ago(days=minutes % 6))
    fleet.request(status="rejected", latency=2 * 3600, created=fleet.ago(days=2))
    fleet.request(created=fleet.ago(hours=5), action="reclaim")
    fleet.request(created=fleet.ago(minutes=25), action="reset_session", approver_role="pls_owner")
    for status in ("passed", "passed", "passed", "failed", "passed", "error"):
        fleet.check(status, created=fleet.ago(days=1))
    for kind in ("repair_lesson", "repair_lesson", "policy_friction", "adoption_signal"):
        fleet.lesson(kind)
    Proposal.objects.create(
        kind="repair",
        title="Repeated context_fetch_failed: GET /jobs/{id}/context answered 503",
        fingerprint="demo-fingerprint",
        error_class="context_fetch_failed",
        occurrences=4,
    )
    matrix = Proposal.objects.get(question_key="approval_matrix")
    proposal_decide(proposal=matrix, user=owner, decision="adopt", rationale="As proposed.")
    OwnerReport.objects.create(
        channel=ChannelFactory(),
        state=OwnerReport.State.SENT,
        source="digest.daily_scorecard",
        title="Daily scorecard",
        sent_at=fleet.ago(days=2),
    )
    RepairEvent.objects.update(received_at=fleet.ago(minutes=10))
    event_rollup_advance()
    return Cast(reviewer="", viewer="", token=owner.username)


def on_one_screen(page) -> None:  # type: ignore[no-untyped-def]
    """What a person sees on a real screen: team names whole, budget labels inside their
    panel, and no column of the page left empty."""
    width = page.viewport_size["width"]
    lines_of_text = """cell => { const range = document.createRange();
        range.selectNodeContents(cell); return range.getClientRects().length; }"""
    for team in page.locator("#worker-board td.team").all():
        assert team.evaluate(lines_of_text) == 1, f"the team name {team.inner_text()} wraps"
    board = page.locator("#worker-board").bounding_box()
    assert board is not None
    for figure in page.locator("#worker-board .budget-figure").all():
        box = figure.bounding_box()
        assert box is not None and box["x"] + box["width"] <= board["x"] + board["width"] + 1
    home = page.locator(".console-home").bounding_box()
    assert home is not None and home["width"] >= 0.9 * width - 60, "the home leaves a column"
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1


def test_a_busy_fleet_fills_every_panel_of_the_home(
    live_server, busy_fleet: Cast, artifacts_dir: Path, browser
):
    page = log_in(browser, live_server.url, busy_fleet.token)  # the owner

    for panel in ("approvals", "d7-acceptance", "milestones", "worker-board", "scorecard"):
        assert page.locator(f"#{panel}").is_visible(), panel
    assert page.locator("tr.approval.may-decide").count() == 1  # the owner's reset_session
    assert page.locator("#d7-acceptance li.check.done").count() == 3
    assert page.locator('li.milestone.done[data-milestone="D14"]').count() == 1
    charts = page.locator("#scorecard svg.chart").all()
    assert len(charts) == 4
    for chart in charts:
        box = chart.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 20
    page.screenshot(path=str(artifacts_dir / "console-home-busy-fleet.png"), full_page=True)
    # The chart's window is the scorecard's, and its caption says so.
    assert "last 7 days" in page.locator("#scorecard h2").inner_text()
    assert "last 7 days" in page.locator("#scorecard figcaption").first.inner_text()

    # The README's pictures: the home in each language, on a desktop and on a phone.
    for language in ("zh-hant", "en"):
        for width in (DESKTOP, PHONE):
            page = log_in(browser, live_server.url, busy_fleet.token, language, width)
            end = page.locator("#scorecard").bounding_box()
            assert end is not None
            page.screenshot(
                path=str(artifacts_dir / f"console-home-{language}-{width}.png"),
                full_page=True,
                clip={"x": 0, "y": 0, "width": width, "height": end["y"] + end["height"] + 16},
            )
            on_one_screen(page)
