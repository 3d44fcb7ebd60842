"""POST /workers/me/usage: spend per budget month (from midnight on the 1st in the console's
zone, PLS_TIME_ZONE); the owner is warned
once a month at 80 %; at 100 % the worker is paused and told why on its next claim."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from core.clock import next_month_start
from core.money import money
from notifications.models import OwnerReport
from repairs.models import Worker
from repairs.services import budget_month_of, worker_usage_add
from tests.factories import JobFactory

USAGE = "/api/v1/workers/me/usage"

pytestmark = pytest.mark.django_db


@pytest.fixture
def budgeted(worker) -> Worker:
    Worker.objects.filter(pk=worker.pk).update(monthly_budget_cents=10_000)
    worker.refresh_from_db()
    return worker


def spend(client, cents):
    return client.post(USAGE, {"cents": cents}, format="json")


def test_usage_adds_up_in_the_current_budget_month(worker_client, budgeted):
    spend(worker_client, 1_000)
    response = spend(worker_client, 2_500)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["month_spend_cents"] == 3_500
    assert body["budget_used_percent"] == 35.0
    assert body["budget_month"] == timezone.localdate().replace(day=1).isoformat()
    assert body["currency"] == settings.PLS_CURRENCY
    assert (body["warned"], body["paused"]) == (False, False)


def test_the_owner_is_warned_once_a_month_at_80_percent(worker_client, budgeted):
    assert spend(worker_client, 7_999).json()["warned"] is False
    assert not OwnerReport.objects.filter(source="worker.budget_warning").exists()

    assert spend(worker_client, 1).json()["warned"] is True
    assert spend(worker_client, 500).json()["warned"] is False

    report = OwnerReport.objects.get(source="worker.budget_warning")
    assert report.worker == budgeted.name
    assert report.status == "warning"
    assert "80 %" in report.title


def test_at_100_percent_the_worker_is_paused_and_the_usage_answer_says_so(worker_client, budgeted):
    response = spend(worker_client, 10_000)

    body = response.json()
    assert (body["status"], body["paused"]) == ("paused", True)
    assert "budget" in body["paused_reason"]
    worker = Worker.objects.get(pk=budgeted.pk)
    assert worker.status == "paused"
    report = OwnerReport.objects.get(source="worker.paused")
    assert report.status == "critical"
    # The pause is the message; no separate 80 % warning follows it.
    assert not OwnerReport.objects.filter(source="worker.budget_warning").exists()


def test_a_worker_paused_by_its_budget_is_told_why_on_its_next_claim(worker_client, budgeted):
    JobFactory()
    spend(worker_client, 12_345)

    response = worker_client.post("/api/v1/jobs/claim-next")

    assert response.status_code == 423
    problem = response.json()
    assert problem["type"].endswith("/worker-paused")
    reason = Worker.objects.get(pk=budgeted.pk).paused_reason
    assert problem["paused_reason"] == reason
    assert reason in problem["detail"]
    in_console_language = f"{money(12_345, language=settings.LANGUAGE_CODE)} of "
    assert in_console_language + money(10_000, language=settings.LANGUAGE_CODE) in reason


def test_a_paused_worker_with_an_empty_queue_still_hears_it_is_paused(worker_client, budgeted):
    spend(worker_client, 10_000)

    assert worker_client.post("/api/v1/jobs/claim-next").status_code == 423


def test_a_paused_worker_cannot_claim_a_named_job(worker_client, budgeted):
    job = JobFactory()
    spend(worker_client, 10_000)

    response = worker_client.post(f"/api/v1/jobs/{job.external_id}/claim")

    assert response.status_code == 423
    job.refresh_from_db()
    assert job.status == "open"


def test_a_new_month_starts_the_spend_again_and_may_warn_again(worker_client, budgeted):
    last_month = (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)
    Worker.objects.filter(pk=budgeted.pk).update(
        budget_month=last_month, month_spend_cents=9_000, budget_warned_month=last_month
    )
    assert worker_client.get("/api/v1/workers/me").json()["month_spend_cents"] == 0

    assert spend(worker_client, 100).json()["month_spend_cents"] == 100
    assert spend(worker_client, 7_900).json()["warned"] is True


def test_the_budget_month_begins_at_midnight_on_the_first_in_taipei():
    # Midnight on 1 April in Taipei is 16:00 UTC on 31 March.
    assert budget_month_of(datetime(2026, 3, 31, 15, 59, 59, tzinfo=UTC)) == date(2026, 3, 1)
    assert budget_month_of(datetime(2026, 3, 31, 16, 0, tzinfo=UTC)) == date(2026, 4, 1)
    # The day written in another zone does not matter, only the moment.
    late_in_new_york = datetime(2026, 3, 31, 12, 0, tzinfo=timezone.get_fixed_timezone(-300))
    assert budget_month_of(late_in_new_york) == date(2026, 4, 1)


def test_the_spend_rolls_over_at_local_midnight_not_at_0800(budgeted):
    before = worker_usage_add(
        worker=budgeted, cents=9_000, now=datetime(2026, 11, 30, 15, 59, tzinfo=UTC)
    )
    assert (before.worker.budget_month, before.worker.month_spend_cents) == (
        date(2026, 11, 1),
        9_000,
    )

    after = worker_usage_add(
        worker=budgeted, cents=100, now=datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    )

    assert (after.worker.budget_month, after.worker.month_spend_cents) == (date(2026, 12, 1), 100)
    assert not after.paused


@pytest.mark.parametrize("zone", ["Asia/Taipei", "UTC", "America/New_York"])
def test_the_budget_month_ends_when_the_next_monthly_quota_starts(zone):
    """One clock for every monthly quota: the budget month a moment counts in ends exactly
    when LINE's message quota starts again (core.clock.next_month_start)."""
    with override_settings(TIME_ZONE=zone):
        for moment in (
            datetime(2026, 12, 31, 15, 59, tzinfo=UTC),
            datetime(2026, 12, 31, 16, 0, tzinfo=UTC),
            datetime(2027, 1, 1, 4, 59, tzinfo=UTC),
            datetime(2027, 1, 1, 5, 0, tzinfo=UTC),
        ):
            month = budget_month_of(moment)
            starts = next_month_start(moment)
            assert budget_month_of(starts - timedelta(microseconds=1)) == month
            assert budget_month_of(starts) == starts.date() > month


@override_settings(TIME_ZONE="UTC")
def test_a_console_in_utc_rolls_its_budget_month_over_at_utc_midnight():
    assert budget_month_of(datetime(2026, 3, 31, 23, 59, tzinfo=UTC)) == date(2026, 3, 1)
    assert budget_month_of(datetime(2026, 4, 1, 0, 0, tzinfo=UTC)) == date(2026, 4, 1)


def test_successive_reports_cross_each_threshold_once(budgeted):
    now = datetime(2026, 5, 10, tzinfo=UTC)
    results = [worker_usage_add(worker=budgeted, cents=2_000, now=now) for _ in range(5)]

    assert [r.warned for r in results] == [False, False, False, True, False]
    assert [r.paused for r in results] == [False, False, False, False, True]


def test_a_worker_without_a_budget_is_never_paused(worker_client, worker):
    body = spend(worker_client, 10_000_000).json()

    assert (body["status"], body["budget_used_percent"]) == ("idle", None)


@pytest.mark.parametrize("cents", [0, -5, "ten", None, 1.5, 10**12])
def test_usage_must_be_a_positive_whole_number_of_cents(worker_client, worker, cents):
    response = worker_client.post(USAGE, {"cents": cents}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "#/cents"
    assert Worker.objects.get(pk=worker.pk).month_spend_cents == 0


def test_people_have_no_usage_to_report(owner, session_client):
    assert session_client(owner).post(USAGE, {"cents": 1}, format="json").status_code == 403


def test_a_worker_reads_its_own_status_budget_and_held_jobs(worker_client, budgeted):
    job = JobFactory()
    worker_client.post(f"/api/v1/jobs/{job.external_id}/claim")
    spend(worker_client, 500)

    body = worker_client.get("/api/v1/workers/me").json()

    assert body["name"] == budgeted.name
    assert body["status"] == "running"
    assert (body["monthly_budget_cents"], body["month_spend_cents"]) == (10_000, 500)
    assert body["held_jobs"] == [job.external_id]
