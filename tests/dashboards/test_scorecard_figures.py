"""Every figure of the scorecard on a known data set: counted live, from the rollup, and half
from each (the rollup's mark in the middle of the events)."""

from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth.models import Group

from dashboards.scorecard import build_scorecard
from dashboards.services import event_rollup_advance
from policies.models import PolicyDecision, Proposal
from repairs.models import RepairEvent, Worker
from tests.factories import UserFactory, WorkerFactory

pytestmark = pytest.mark.django_db


def known_data_set(fleet) -> None:
    """The fleet's last week, and a little before it (which the 7-day card must leave out)."""
    old = fleet.ago(days=8)
    # Stuck claims: three leases expired (resolved after 600 s and 1200 s, one failed) ...
    fleet.event("stuck_claim", "lease_expired", outcome="resolved", resolved_after=600)
    fleet.event("stuck_claim", "lease_expired", outcome="resolved", resolved_after=1200)
    fleet.event("stuck_claim", "lease_expired", outcome="failed", resolved_after=60)
    # ... and two failed context fetches retried (one resolved after 300 s, one still open).
    for outcome, after in (("resolved", 300), ("", None)):
        fleet.event(
            "stuck_claim",
            "context_fetch_failed",
            action="retry",
            decision="allowed",
            outcome=outcome,
            resolved_after=after,
        )
    fleet.event("stuck_claim", "lease_expired", action="release", decision="needs_approval")
    fleet.event("friction", "approval_wait", action="report_friction", decision="allowed")
    fleet.event("artifact_guard", "completion_blocked")
    fleet.event("artifact_guard", "completion_blocked", at=fleet.ago(days=5))
    fleet.event(
        "artifact_guard",
        "primary_url_404",
        action="retry",
        decision="allowed",
        outcome="failed",
        resolved_after=30,
    )
    fleet.event("stuck_claim", "hard_complete_asked", action="hard_complete", decision="denied")
    fleet.event("stuck_claim", "lease_expired", at=old, outcome="resolved", resolved_after=5)
    fleet.event("friction", "approval_wait", at=old, action="retry", decision="allowed")

    # Self-heal requests (each adds a stuck_claim/lease_expired event with action release).
    fleet.request(status="approved", latency=60)
    fleet.request(status="approved", latency=600)
    fleet.request(status="rejected", latency=3600)
    fleet.request(status="pending")
    fleet.request(status="expired", latency=86400)
    fleet.request(status="approved", latency=5, created=old)

    for status in ("passed", "passed", "failed", "error", "pending"):
        fleet.check(status)
    fleet.check("passed", created=old)

    for kind in ("repair_lesson", "repair_lesson", "policy_friction"):
        fleet.lesson(kind)
    fleet.lesson("adoption_signal", created=old)

    owner = UserFactory()
    decisions = [
        ("adopted", "adopt", fleet.ago(days=1)),
        ("rejected", "reject", fleet.ago(days=2)),
        ("adopted", "adopt", fleet.ago(days=12)),  # decided before the window
        ("open", None, None),
        ("deferred", "defer", fleet.ago(days=1)),
    ]
    for n, (status, decision, at) in enumerate(decisions):
        proposal = Proposal.objects.create(
            kind="repair", status=status, title=f"Repair {n}", fingerprint=f"fp-{n}"
        )
        if decision:
            # Decision records are append-only (a trigger on PostgreSQL): written at ``at``.
            with mock.patch("django.utils.timezone.now", return_value=at):
                PolicyDecision.objects.create(
                    proposal=proposal, decision=decision, rationale="test", decided_by=owner
                )

    month = fleet.today.replace(day=1)
    last_month = (month - timedelta(days=1)).replace(day=1)
    budgets = [
        ("running", 10_000, 8_500, month),
        ("idle", 0, 0, None),
        ("error", 1_000, 1_200, month),
        ("paused", 9_000, 4_000, last_month),  # last month's spend: 0 this month
    ]
    Worker.objects.filter(pk=fleet.worker.pk).update(
        status="running", monthly_budget_cents=10_000, month_spend_cents=8_500, budget_month=month
    )
    for status, budget, spend, spend_month in budgets[1:]:
        worker = WorkerFactory()
        Worker.objects.filter(pk=worker.pk).update(
            status=status,
            monthly_budget_cents=budget,
            month_spend_cents=spend,
            budget_month=spend_month,
        )


EXPECTED = {
    "events": {
        # 11 events reported in the window, plus 5 for the requests raised in it.
        "total": 16,
        "by_gate": {
            "stuck_claim": 12,
            "repair_suggested": 0,
            "artifact_guard": 3,
            "worker_learning": 0,
            "friction": 1,
            "tool_call": 0,
        },
        "by_error_class": [
            {"error_class": "lease_expired", "count": 9},
            {"error_class": "completion_blocked", "count": 2},
            {"error_class": "context_fetch_failed", "count": 2},
            {"error_class": "approval_wait", "count": 1},
            {"error_class": "hard_complete_asked", "count": 1},
            {"error_class": "primary_url_404", "count": 1},
        ],
        "by_decision": {"allowed": 4, "needs_approval": 1, "denied": 1},
    },
    "retries": {
        "allowed": 3,
        "resolved": 1,
        "failed": 1,
        "no_outcome": 1,
        "success_rate": 0.5,
    },
    "stuck_claims": {
        "detected": 12,
        "lease_expired": 9,
        "other": 3,
        "resolved": 3,
        "mean_seconds_to_resolution": 700.0,  # (600 + 1200 + 300) / 3
    },
    "artifact_guard": {
        "checks_passed": 2,
        "checks_failed": 2,
        "checks_by_status": {"passed": 2, "failed": 1, "error": 1, "in_progress": 1},
        "completions_blocked": 2,
    },
    "self_heal": {
        "by_status": {"pending": 1, "approved": 2, "rejected": 1, "expired": 1},
        "approval_latency": {"decided": 3, "median_seconds": 600.0, "p90_seconds": 3600.0},
        "latencies": [60.0, 600.0, 3600.0],
    },
    # Adopted and rejected by decisions in the window; open: 3 policy questions, one open
    # and one deferred repair.
    "proposals": {"adopted": 1, "rejected": 1, "open": 5},
    "learning": {
        "repair_lesson": 2,
        "policy_friction": 1,
        "adoption_signal": 0,
        "blocking_signal": 0,
    },
    "workers": {
        "by_status": {"idle": 1, "running": 1, "error": 1, "paused": 1},
        "budget": {
            "spent_cents": 9_700,
            "budget_cents": 20_000,
            "use": 0.485,
            "workers_with_budget": 3,
            "workers_over_80_percent": 2,
            "workers_over_100_percent": 1,
        },
    },
}


def settle_first(count: int) -> None:
    """Makes the first ``count`` events old enough for the rollup to take."""
    ids = list(RepairEvent.objects.order_by("pk").values_list("pk", flat=True)[:count])
    RepairEvent.objects.filter(pk__in=ids).update(
        received_at=RepairEvent.objects.get(pk=ids[0]).received_at - timedelta(hours=1)
    )


@pytest.mark.parametrize("rolled_up", ["none", "half", "all"])
def test_the_scorecard_reports_every_figure_of_a_known_week(fleet, rolled_up):
    known_data_set(fleet)
    if rolled_up == "half":
        settle_first(RepairEvent.objects.count() // 2)
        run = event_rollup_advance()
        assert 0 < run.events < RepairEvent.objects.count()
    elif rolled_up == "all":
        run = event_rollup_advance(now=fleet.now + timedelta(minutes=5))
        assert run.events == RepairEvent.objects.count()

    card = build_scorecard(days=7, now=fleet.now)

    events = {key: card["events"][key] for key in EXPECTED["events"]}
    assert events == EXPECTED["events"]
    for section in (
        "retries",
        "stuck_claims",
        "artifact_guard",
        "self_heal",
        "proposals",
        "learning",
        "workers",
    ):
        assert card[section] == EXPECTED[section], section
    assert card["window"]["since"].date() == fleet.today - timedelta(days=6)
    assert sum(day["count"] for day in card["events"]["per_day"]) == 16
    mark = 0 if rolled_up == "none" else run.mark_after
    unrolled = RepairEvent.objects.filter(pk__gt=mark, occurred_at__gte=card["window"]["since"])
    assert (
        card["events"]["live_tail"]
        == unrolled.count()
        == {"none": 16, "all": 0}.get(rolled_up, card["events"]["live_tail"])
    )


def test_a_wider_window_takes_in_the_older_records(fleet):
    known_data_set(fleet)

    card = build_scorecard(days=30, now=fleet.now)

    assert card["events"]["total"] == 16 + 2 + 1  # the two old events and the old request
    assert card["self_heal"]["approval_latency"]["decided"] == 4
    assert card["proposals"]["adopted"] == 2
    assert card["artifact_guard"]["checks_passed"] == 3
    assert card["learning"]["adoption_signal"] == 1


def test_only_the_top_ten_error_classes_are_listed_most_frequent_first(fleet):
    for n in range(12):
        for _ in range(n + 1):
            fleet.event("stuck_claim", f"class_{n:02d}")

    classes = build_scorecard(days=1, now=fleet.now)["events"]["by_error_class"]

    assert [row["error_class"] for row in classes] == [f"class_{n:02d}" for n in range(11, 1, -1)]
    assert classes[0]["count"] == 12


def test_an_empty_fleet_has_no_rates_rather_than_zero_ones(db):
    card = build_scorecard(days=7)

    assert card["retries"]["success_rate"] is None
    assert card["stuck_claims"]["mean_seconds_to_resolution"] is None
    assert card["self_heal"]["approval_latency"]["median_seconds"] is None
    assert card["workers"]["budget"]["use"] is None
    assert card["events"]["total"] == 0


def test_people_of_every_role_hold_the_scorecard_right_and_workers_do_not(db):
    holders = set(
        Group.objects.filter(permissions__codename="view_scorecard").values_list("name", flat=True)
    )

    assert holders == {"pls_owner", "risk_reviewer", "ops_viewer"}
