"""Ingest's own bookkeeping ages out: a fingerprint's repeat counter once its window has
passed (no report would count what it holds), a worker's spent retry budget once its job has
been quiet for ``PLS_RETAIN_BUDGET_SPENDS_DAYS``."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.retention import retention_purge
from repairs.models import BudgetSpend, RepairEvent, RepeatCounter
from tests.factories import event_body, policy_set

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
EVENTS = "/api/v1/worker-repair-events"


def report(client, **fields) -> dict:
    answer = client.post(EVENTS, event_body(**fields), format="json")
    assert answer.status_code == 201, answer.content
    return answer.json()


def test_a_counter_goes_a_day_after_its_window_passed_and_its_fingerprint_counts_anew(
    worker_client,
):
    policy_set(repeat_window=timedelta(hours=1))
    for _ in range(3):
        report(worker_client, message="upstream svc-git answered 503")
    report(worker_client, message="another outage", error_class="other_class")
    counted = set(RepeatCounter.objects.values_list("pk", flat=True))
    assert len(counted) == 2

    # Within the window and the day after it, both stay.
    assert (
        retention_purge(now=timezone.now() + DAY, only=["repeat_counters"])[
            "repeat_counters"
        ].removed
        == 0
    )
    summary = retention_purge(now=timezone.now() + DAY + timedelta(hours=2))

    assert summary["repeat_counters"].removed == 2
    assert not RepeatCounter.objects.exists()
    # A report afterwards counts itself alone, as it would have on the old counter.
    assert report(worker_client, message="upstream svc-git answered 503")["repeat_count"] == 1


def test_a_counter_still_in_its_window_stays(worker_client):
    policy_set(repeat_window=timedelta(days=7))
    report(worker_client, message="upstream svc-git answered 503")

    summary = retention_purge(now=timezone.now() + 5 * DAY, only=["repeat_counters"])

    assert summary["repeat_counters"].removed == 0
    assert RepeatCounter.objects.count() == 1


def test_a_budget_goes_when_its_job_was_quiet_long_enough_and_the_next_retry_is_allowed(
    worker_client, worker
):
    policy_set(max_auto_retries=2)
    for _ in range(2):
        assert report(worker_client, job="JOB-OLD", action="retry")["verdict"]["decision"] == (
            "allowed"
        )
    assert report(worker_client, job="JOB-OLD", action="retry")["verdict"]["decision"] != "allowed"
    for _ in range(2):
        report(worker_client, job="JOB-NEW", action="retry")
    # JOB-OLD was last reported 400 days ago, JOB-NEW yesterday.
    RepairEvent.objects.filter(job_ref="JOB-OLD").update(occurred_at=timezone.now() - 400 * DAY)
    RepairEvent.objects.filter(job_ref="JOB-NEW").update(occurred_at=timezone.now() - DAY)

    summary = retention_purge(only=["budget_spends"])

    assert summary["budget_spends"].removed == 1
    assert list(BudgetSpend.objects.values_list("job_ref", flat=True)) == ["JOB-NEW"]
    assert report(worker_client, job="JOB-OLD", action="retry")["verdict"]["decision"] == "allowed"
    assert report(worker_client, job="JOB-NEW", action="retry")["verdict"]["decision"] != "allowed"


def test_a_budget_is_kept_at_least_30_days(worker_client, settings):
    settings.PLS_RETAIN_BUDGET_SPENDS_DAYS = 1
    report(worker_client, job="JOB-1", action="retry")
    RepairEvent.objects.update(occurred_at=timezone.now() - 10 * DAY)

    summary = retention_purge(only=["budget_spends"])

    assert summary["budget_spends"].days == 30
    assert summary["budget_spends"].removed == 0
    assert BudgetSpend.objects.count() == 1
