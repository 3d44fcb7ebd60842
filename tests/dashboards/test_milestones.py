"""The D7 acceptance panel and the D1 / D7 / D14 / D30 tracker tick exactly when the records
that prove them exist, never before."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from dashboards.milestones import d7_acceptance, milestones
from dashboards.services import event_rollup_advance
from learning.models import PromptPackExport
from notifications.models import OwnerReport
from policies.models import Proposal
from policies.services import proposal_decide
from repairs.models import RepairEvent
from tests.factories import ChannelFactory, UserFactory, policy_set

pytestmark = pytest.mark.django_db


def ticks(checks) -> list[bool]:
    return [check.done for check in checks]


def tracker() -> dict[str, list[bool]]:
    return {m.key: ticks(m.checks) for m in milestones()}


def sent_digest(name: str) -> OwnerReport:
    return OwnerReport.objects.create(
        channel=ChannelFactory(),
        state=OwnerReport.State.SENT,
        source=f"digest.{name}",
        title=name,
        sent_at=timezone.now(),
    )


def test_d7_needs_three_events_a_passed_artifact_check_and_a_decision(fleet):
    assert ticks(d7_acceptance()) == [False, False, False]

    fleet.event("stuck_claim", "lease_expired")
    fleet.event("friction", "approval_wait")
    assert ticks(d7_acceptance()) == [False, False, False]
    fleet.event("stuck_claim", "context_fetch_failed")
    assert ticks(d7_acceptance()) == [True, False, False]

    fleet.check("failed")
    fleet.check("pending")
    assert ticks(d7_acceptance()) == [True, False, False]
    fleet.check("passed")
    assert ticks(d7_acceptance()) == [True, True, False]

    policy_set(max_auto_retries=2)
    checks = d7_acceptance()
    assert ticks(checks) == [True, True, True]
    assert [check.url for check in checks] == [
        "/admin/repairs/repairevent/",
        "/admin/artifacts/artifactgatecheck/?status__exact=passed",
        "/admin/policies/policydecision/",
    ]
    assert all(check.at for check in checks)


def test_the_consoles_own_proposal_records_are_not_worker_events(fleet):
    for _ in range(3):
        fleet.event("repair_suggested", "context_fetch_failed")

    assert ticks(d7_acceptance())[0] is False


@pytest.mark.parametrize("rolled_up", [False, True])
def test_an_artifact_guard_event_reporting_a_pass_counts_as_a_pass(fleet, rolled_up):
    fleet.event("artifact_guard", "primary_url_404")
    assert ticks(d7_acceptance())[1] is False

    fleet.event("artifact_guard", "artifact_check_passed")
    if rolled_up:
        RepairEvent.objects.update(received_at=fleet.ago(minutes=10))
        event_rollup_advance()

    (_, artifact, _) = d7_acceptance()
    assert artifact.done
    assert "error_class=artifact_check_passed" in artifact.url


def test_d1_is_met_by_the_migrations_interim_policy_and_questions(db):
    (d1, *_) = milestones()

    assert d1.key == "D1"
    assert ticks(d1.checks) == [True, True]
    assert d1.done and d1.reached_at is not None


def test_d1_waits_for_the_three_questions(db):
    Proposal.objects.filter(kind=Proposal.Kind.POLICY_QUESTION).first().delete()

    assert tracker()["D1"] == [True, False]


def test_d7_also_needs_the_first_daily_scorecard_sent(fleet):
    for _ in range(3):
        fleet.event("stuck_claim", "lease_expired")
    fleet.check("passed")
    policy_set(max_auto_retries=2)
    assert tracker()["D7"] == [True, False]

    report = sent_digest("daily_scorecard")
    OwnerReport.objects.filter(pk=report.pk).update(state=OwnerReport.State.PENDING)
    assert tracker()["D7"] == [True, False]  # written but not sent is not enough

    OwnerReport.objects.filter(pk=report.pk).update(state=OwnerReport.State.SENT)
    (_, d7, _, _) = milestones()
    assert ticks(d7.checks) == [True, True]
    assert d7.done


def test_d14_needs_the_approval_matrix_decided_and_an_automatic_proposal(owner, worker_client):
    assert tracker()["D14"] == [False, False]

    for _ in range(2):  # the same error twice raises a repair proposal
        worker_client.post(
            "/api/v1/worker-repair-events",
            {"gate": "stuck_claim", "error_class": "context_fetch_failed", "job": "JOB-1"},
            format="json",
        )
    assert tracker()["D14"] == [False, True]

    matrix = Proposal.objects.get(question_key="approval_matrix")
    proposal_decide(proposal=matrix, user=owner, decision="defer", rationale="next week")
    assert tracker()["D14"] == [False, True]  # deferred is not decided

    proposal_decide(proposal=matrix, user=owner, decision="adopt", rationale="as proposed")
    assert tracker()["D14"] == [True, True]


def test_the_approval_matrix_check_names_the_questions_state_in_words(owner):
    matrix = Proposal.objects.get(question_key="approval_matrix")
    proposal_decide(proposal=matrix, user=owner, decision="adopt", rationale="as proposed")

    with translation.override("zh-hant"):
        check = next(m for m in milestones() if m.key == "D14").checks[0]

    assert check.detail.endswith("已採用")  # the label, never the code "adopted"


def test_d30_needs_a_weekly_learning_review_sent_and_a_prompt_pack_exported(db):
    assert tracker()["D30"] == [False, False]

    sent_digest("weekly_learning")
    assert tracker()["D30"] == [True, False]

    PromptPackExport.objects.create(
        team="alpha", exported_by=UserFactory(), lesson_count=3, digest="0" * 64
    )
    assert tracker()["D30"] == [True, True]


def test_milestones_fall_due_counting_from_the_interim_policy(db):
    due = {m.key: m.due for m in milestones()}

    start = due["D1"] - timedelta(days=1)
    assert {key: (value - start).days for key, value in due.items()} == {
        "D1": 1,
        "D7": 7,
        "D14": 14,
        "D30": 30,
    }
