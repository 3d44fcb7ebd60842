"""Retention on a clock moved forward: each kind goes after its own number of days, in
batches, and what other records stand on stays, decisions and the audit trail above all."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.management import call_command
from django.utils import timezone

from artifacts.models import ArtifactGateCheck
from console.tasks import retention_purge as retention_task
from core.audit import audit_record, said
from core.retention import retention_purge
from learning.models import LearningMemoryUpdate
from notifications.models import OwnerReport
from policies.models import PolicyDecision, WorkerPolicy
from repairs.models import RepairEvent, SelfHealRequest
from repairs.services import self_heal_request_decide
from tests.console import EVENTS
from tests.factories import (
    ChannelFactory,
    JobFactory,
    LearningUpdateFactory,
    event_body,
    policy_set,
)

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


@pytest.fixture
def records(worker, worker_client, reviewer, owner):
    """Today's records of every kind: plain events (the first three prove the D7
    acceptance), an event whose self-heal request was decided, one a lesson came from,
    owner reports in every state, finished and running artifact checks, a policy decision
    and audit entries."""
    ids = []
    for n in range(10):
        body = event_body(error_class=f"plain_{n}", action="")
        ids.append(worker_client.post(EVENTS, body, format="json").json()["id"])
    escalated = worker_client.post(EVENTS, event_body(action="release"), format="json").json()
    heal = SelfHealRequest.objects.get(pk=escalated["self_heal_request"])
    self_heal_request_decide(request=heal, user=reviewer, approve=False, note="no")
    taught = RepairEvent.objects.get(pk=ids[-1])
    LearningUpdateFactory(event=taught)
    policy_set(max_auto_retries=2)
    audit_record(user=owner, obj=heal, action_flag=CHANGE, message=said("looked at it"))
    channel = ChannelFactory()
    reports = {
        state: OwnerReport.objects.create(
            source="test.report", title=state, state=state, channel=channel
        )
        for state in ("sent", "suppressed", "failed", "pending")
    }
    digests = [
        OwnerReport.objects.create(
            source="digest.daily_scorecard", title="d", state="sent", channel=channel
        )
        for _ in range(2)
    ]
    job = JobFactory()
    finished, running = (
        ArtifactGateCheck.objects.create(
            job=job,
            worker=worker,
            primary_url="https://example.com/a",
            upload_files=[{"url": "https://example.com/b"}],
            results=[{"url": "https://example.com/a", "status_code": 200}],
            status=status,
        )
        for status in ("passed", "running")
    )
    return {
        "plain": ids,
        "acceptance": ids[:3],
        "escalated": escalated["id"],
        "taught": taught.pk,
        "reports": reports,
        "digests": digests,
        "finished": finished,
        "running": running,
    }


def kept_events() -> set[int]:
    return set(RepairEvent.objects.values_list("pk", flat=True))


def test_after_40_days_only_archived_reports_and_check_bodies_go(records):
    events_before = kept_events()

    summary = retention_purge(now=timezone.now() + 40 * DAY)

    assert summary["events"].removed == 0
    assert kept_events() == events_before
    assert summary["check_bodies"].removed == 1
    finished = ArtifactGateCheck.objects.get(pk=records["finished"].pk)
    assert (finished.results, finished.upload_files, finished.status) == ([], [], "passed")
    assert finished.bodies_purged_at is not None
    running = ArtifactGateCheck.objects.get(pk=records["running"].pk)
    assert running.results and running.bodies_purged_at is None
    # Reports are kept 90 days.
    assert summary["reports"].removed == 0


def test_after_100_days_sent_and_suppressed_reports_go_but_not_those_still_owed(records):
    summary = retention_purge(now=timezone.now() + 100 * DAY)

    reports = records["reports"]
    left = set(OwnerReport.objects.values_list("pk", flat=True))
    assert reports["sent"].pk not in left
    assert reports["suppressed"].pk not in left
    assert {reports["failed"].pk, reports["pending"].pk} <= left
    # The first daily scorecard sent proves the D7 milestone: it stays, the second goes.
    first, second = records["digests"]
    assert first.pk in left and second.pk not in left
    assert summary["reports"].removed >= 3


def test_after_400_days_events_go_except_those_other_records_stand_on(records):
    decisions = list(PolicyDecision.objects.values_list("pk", "rationale"))
    versions = WorkerPolicy.objects.count()
    requests = list(SelfHealRequest.objects.values_list("pk", "status", "decided_by"))
    lessons = LearningMemoryUpdate.objects.count()
    audit = LogEntry.objects.count()
    before = RepairEvent.objects.count()

    summary = retention_purge(now=timezone.now() + 400 * DAY, batch_size=2)

    left = kept_events()
    assert set(records["acceptance"]) <= left  # the D7 acceptance's proof
    assert records["escalated"] in left  # its self-heal request holds a decision
    assert records["taught"] in left  # a lesson was learned from it
    assert not set(records["plain"][3:-1]) & left
    assert summary["events"].removed == before - len(left) > 2  # several batches of 2
    # Kept for ever, untouched.
    assert list(PolicyDecision.objects.values_list("pk", "rationale")) == decisions
    assert WorkerPolicy.objects.count() == versions
    assert list(SelfHealRequest.objects.values_list("pk", "status", "decided_by")) == requests
    assert LearningMemoryUpdate.objects.count() == lessons
    assert LogEntry.objects.count() == audit


def test_a_setting_of_0_keeps_a_kind_for_ever(records, settings):
    settings.PLS_RETAIN_EVENTS_DAYS = 0
    settings.PLS_RETAIN_REPORTS_DAYS = 0
    events, reports = kept_events(), OwnerReport.objects.count()

    summary = retention_purge(now=timezone.now() + 4000 * DAY)

    assert kept_events() == events
    assert OwnerReport.objects.count() == reports
    assert summary["events"].days == 0 and summary["events"].cutoff is None


def test_events_are_kept_at_least_as_long_as_the_scorecard_reads_them(records, settings):
    settings.PLS_RETAIN_EVENTS_DAYS = 10
    events = kept_events()

    summary = retention_purge(now=timezone.now() + 60 * DAY, only=["events"])

    assert summary["events"].days == 90
    assert kept_events() == events


def test_the_beat_task_reports_what_it_removed(records):
    result = retention_task.apply().get()

    # Nothing is old yet: every kind looked and removed nothing.
    assert set(result) == {
        "events",
        "reports",
        "check_bodies",
        "verdicts",
        "chat_callbacks",
        "repeat_counters",
        "budget_spends",
    }
    assert {kind["removed"] for kind in result.values()} == {0}
    assert result["events"]["days"] == 365


def test_purge_reports_is_the_same_purge_with_another_age(records, capsys):
    call_command("purge_reports", "--older-than-days", "0")

    left = set(OwnerReport.objects.values_list("pk", flat=True))
    reports = records["reports"]
    assert reports["sent"].pk not in left and reports["failed"].pk in left
    assert records["digests"][0].pk in left
    assert "Purged 3 archived report(s)" in capsys.readouterr().out


def test_the_command_purges_now_and_says_what(records, capsys, settings):
    settings.PLS_RETAIN_CHECK_BODIES_DAYS = 1
    ArtifactGateCheck.objects.update(created_at=timezone.now() - 2 * DAY)

    call_command("retention_purge", "--kind", "check_bodies")

    assert "check_bodies: removed 1 older than 1 days" in capsys.readouterr().out
