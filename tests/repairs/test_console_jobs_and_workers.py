"""The console: the queue with holders, leases and stuck claims; the owner pauses and resumes
workers (the actions are offered to the owner only)."""

import pytest
from django.urls import reverse

from repairs.models import Job, Worker
from tests.console import action_names, run_action, shown_messages
from tests.factories import JobFactory, client_for, job_claimed_by

pytestmark = pytest.mark.django_db


@pytest.fixture
def workers_page() -> str:
    return reverse("admin:repairs_worker_changelist")


@pytest.mark.parametrize(
    ("role", "offered"), [("owner", True), ("reviewer", False), ("viewer", False)]
)
def test_pause_and_resume_are_offered_to_the_owner_only(
    role, offered, request, client, workers_page, worker
):
    client.force_login(request.getfixturevalue(role))

    names = action_names(client, workers_page)

    assert ({"pause", "resume"} & names) == ({"pause", "resume"} if offered else set())


def test_the_owner_pauses_a_worker_with_a_reason_and_its_claims_answer_423(
    client, owner, workers_page, worker
):
    client.force_login(owner)

    page = client.post(workers_page, {"action": "pause", "_selected_action": [worker.pk]})
    assert page.status_code == 200
    assert b'name="reason"' in page.content
    assert Worker.objects.get(pk=worker.pk).status == "idle"  # asked, not done

    response = run_action(client, workers_page, "pause", [worker], reason="rotating its keys")

    assert any("paused" in message for message in shown_messages(response))
    assert Worker.objects.get(pk=worker.pk).paused_reason == "rotating its keys"
    JobFactory()
    claim = client_for(worker).post("/api/v1/jobs/claim-next")
    assert claim.status_code == 423
    assert "rotating its keys" in claim.json()["detail"]


def test_a_pause_needs_a_reason(client, owner, workers_page, worker):
    client.force_login(owner)

    page = run_action(client, workers_page, "pause", [worker], reason="")

    assert Worker.objects.get(pk=worker.pk).status == "idle"
    assert b"errorlist" in page.content


def test_the_owner_resumes_a_paused_worker(client, owner, workers_page, worker):
    Worker.objects.filter(pk=worker.pk).update(status="paused", paused_reason="budget used up")
    client.force_login(owner)

    response = client.post(
        workers_page, {"action": "resume", "_selected_action": [worker.pk]}, follow=True
    )

    assert any("resumed" in message for message in shown_messages(response))
    resumed = Worker.objects.get(pk=worker.pk)
    assert (resumed.status, resumed.paused_reason) == ("idle", "")


def test_a_reviewer_posting_the_resume_action_changes_nothing(
    client, reviewer, workers_page, worker
):
    Worker.objects.filter(pk=worker.pk).update(status="paused", paused_reason="budget")
    client.force_login(reviewer)

    client.post(workers_page, {"action": "resume", "_selected_action": [worker.pk]})

    assert Worker.objects.get(pk=worker.pk).status == "paused"


def test_the_job_list_shows_status_holder_lease_and_stuck_claims(client, viewer, worker):
    job_claimed_by(worker, external_id="PLS-HELD")
    JobFactory(external_id="PLS-OPEN", priority="high")
    client.force_login(viewer)

    page = client.get(reverse("admin:repairs_job_changelist"))
    stuck_only = client.get(reverse("admin:repairs_job_changelist"), {"status__exact": "stuck"})

    assert page.status_code == 200
    content = page.content.decode()
    assert "PLS-HELD" in content and "PLS-OPEN" in content
    assert worker.name in content
    assert "left" in content  # the lease countdown
    assert "PLS-HELD" not in stuck_only.content.decode()


def test_the_owner_registers_a_job_in_the_console(client, owner):
    client.force_login(owner)

    response = client.post(
        reverse("admin:repairs_job_add"),
        {"external_id": "PLS-NEW", "title": "From the console", "priority": "low"},
    )

    assert response.status_code == 302, response.content
    assert Job.objects.get(external_id="PLS-NEW").status == "open"
