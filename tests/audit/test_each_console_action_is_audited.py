"""Every change a person makes in the console writes one audit entry (Django's admin log) on
the record it changed, naming the person, the channel (``console``) and what was done; the
console home's "Recent actions" lists them."""

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from core.audit import message_of
from learning.models import LearningMemoryUpdate
from notifications.models import Channel, OwnerReport
from policies.models import PolicyDecision, Proposal, WorkerPolicy
from repairs.models import Job, RepairEvent, SelfHealRequest, WorkerToken
from tests.console import EVENTS, run_action
from tests.factories import ChannelFactory, LearningUpdateFactory, event_body, issue_token

pytestmark = pytest.mark.django_db


def escalate(worker_client) -> SelfHealRequest:
    body = worker_client.post(EVENTS, event_body(action="release"), format="json").json()
    return SelfHealRequest.objects.get(pk=body["self_heal_request"])


def test_approving_on_the_console_home_is_audited_and_listed_in_recent_actions(
    client, reviewer, worker_client, audited
):
    heal = escalate(worker_client)
    client.force_login(reviewer)

    client.post(
        reverse("admin:console_self_heal_decide", args=[heal.pk]),
        {"decision": "approve", "note": "go ahead"},
    )

    assert audited(heal) == [
        (
            reviewer.username,
            "console",
            f"Approved release on {heal.job_ref} for {heal.worker}: go ahead",
        )
    ]
    home = client.get(reverse("admin:index")).content.decode()
    recent = home[home.index("Recent actions") :]
    heal.refresh_from_db()
    assert str(heal) in recent  # "#1 release for codex-0 (approved)", linked to its page
    assert reverse("admin:repairs_selfhealrequest_change", args=[heal.pk]) in recent


def test_rejecting_with_the_admin_action_is_audited(client, reviewer, worker_client, audited):
    heal = escalate(worker_client)
    client.force_login(reviewer)

    run_action(
        client,
        reverse("admin:repairs_selfhealrequest_changelist"),
        "reject",
        [heal],
        note="the lease would be lost",
    )

    [(person, via, message)] = audited(heal)
    assert (person, via) == (reviewer.username, "console")
    assert message.startswith("Rejected release") and message.endswith(": the lease would be lost")


def test_deciding_a_proposal_is_audited(client, owner, audited):
    question = Proposal.objects.filter(kind=Proposal.Kind.POLICY_QUESTION).first()
    client.force_login(owner)

    run_action(
        client,
        reverse("admin:policies_proposal_changelist"),
        "defer",
        [question],
        rationale="next week, with the numbers",
    )

    assert audited(question) == [
        (owner.username, "console", "Deferred: next week, with the numbers")
    ]


def test_changing_the_policy_is_audited_on_the_new_version(client, owner, audited):
    page = reverse("admin:policies_workerpolicy_change_policy")
    client.force_login(owner)
    form = client.get(page).context["form"]
    data = {name: form[name].value() for name in form.fields}
    data.update(max_auto_retries=2, rationale="flaky CI needs two")

    client.post(page, {**data, "_confirm": "1"})

    version = WorkerPolicy.objects.get(version=2)
    assert PolicyDecision.objects.filter(policy_after=version).exists()
    assert audited(version) == [
        (
            owner.username,
            "console",
            "Changed the worker policy v1 → v2 (max_auto_retries): flaky CI needs two",
        )
    ]


def test_pausing_and_resuming_a_worker_is_audited(client, owner, worker, audited):
    workers = reverse("admin:repairs_worker_changelist")
    client.force_login(owner)

    run_action(client, workers, "pause", [worker], reason="rotating its keys")
    run_action(client, workers, "resume", [worker])

    assert audited(worker) == [
        (owner.username, "console", "Paused: rotating its keys"),
        (owner.username, "console", "Resumed (Idle)."),
    ]


def test_issuing_and_revoking_a_token_is_audited(client, owner, worker, audited):
    client.force_login(owner)

    client.post(
        reverse("admin:repairs_worker_changelist"),
        {"action": "issue_token", "_selected_action": [worker.pk]},
    )
    token = WorkerToken.objects.get(worker=worker, label="console")
    run_action(client, reverse("admin:repairs_workertoken_changelist"), "revoke", [token])

    assert audited(token) == [
        (
            owner.username,
            "console",
            f"Issued a token for {worker.name} ({token.prefix}…, console).",
        ),
        (owner.username, "console", f"Revoked the token {token.prefix}… of {worker.name}."),
    ]


def test_changing_and_muting_a_channel_is_audited_once_without_its_secrets(client, owner, audited):
    channel = ChannelFactory(name="ops")
    client.force_login(owner)
    page = reverse("admin:notifications_channel_change", args=[channel.pk])
    form = client.get(page).context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    # The form takes the console's wall clock (PLS_TIME_ZONE).
    until = timezone.localtime(timezone.now() + timezone.timedelta(hours=2)).replace(microsecond=0)
    data.update(
        muted_until_0=until.strftime("%Y-%m-%d"),
        muted_until_1=until.strftime("%H:%M:%S"),
        team="alpha",
        signing_secret="a-new-secret-value",
    )
    del data["muted_until"]

    response = client.post(page, data)

    assert response.status_code == 302, response.content.decode()[:2000]
    [(person, via, message)] = audited(Channel.objects.get(pk=channel.pk))
    assert (person, via) == (owner.username, "console")
    assert message.startswith("Changed ")
    assert "muted_until" in message and "signing_secret" in message and "team" in message
    assert f"Muted until {until.isoformat()}." in message
    assert "a-new-secret-value" not in message


def test_replaying_and_purging_reports_is_audited(client, owner, audited):
    channel = ChannelFactory(name="ops")
    failed = OwnerReport.objects.create(source="test", title="t", channel=channel, state="failed")
    client.force_login(owner)

    client.post(
        reverse("admin:notifications_ownerreport_changelist"),
        {"action": "replay_failed", "_selected_action": [failed.pk]},
    )
    client.post(reverse("admin:notifications_ownerreport_purge"), {"older_than_days": 30})

    assert audited(failed) == [
        (owner.username, "console", "Replayed (back in the outbox, in its original place).")
    ]
    purge = LogEntry.objects.get(object_id__isnull=True, user=owner)
    assert purge.content_type.model == "ownerreport"
    assert message_of(purge).startswith("Purged 0 archived report(s)")


def test_reviewing_a_lesson_is_audited(client, owner, audited):
    lesson = LearningUpdateFactory()
    client.force_login(owner)

    client.post(
        reverse("admin:learning_learningmemoryupdate_changelist"),
        {"action": "accept", "_selected_action": [lesson.pk]},
    )

    assert LearningMemoryUpdate.objects.get(pk=lesson.pk).review == "accepted"
    assert audited(lesson) == [(owner.username, "console", "Accepted into the prompt pack.")]


def test_a_change_through_the_api_is_audited_as_api(
    reviewer, worker_client, session_client, audited
):
    heal = escalate(worker_client)

    session_client(reviewer).post(
        f"/api/v1/self-heal-requests/{heal.pk}/approve", {"note": "ok"}, format="json"
    )

    [(person, via, _)] = audited(heal)
    assert (person, via) == (reviewer.username, "api")


def test_a_worker_changes_nothing_the_audit_trail_records(worker, worker_client):
    before = LogEntry.objects.count()

    worker_client.post(EVENTS, event_body(action="release"), format="json")
    issue_token(worker)  # a token issued without a person (create_worker, seed_demo)

    assert LogEntry.objects.count() == before


def test_registering_a_job_is_audited_once(client, owner, audited):
    client.force_login(owner)

    client.post(
        reverse("admin:repairs_job_add"),
        {"external_id": "PLS-NEW", "title": "From the console", "priority": "low"},
    )

    assert audited(Job.objects.get(external_id="PLS-NEW")) == [
        (owner.username, "console", "Registered job PLS-NEW.")
    ]


def test_marking_an_event_resolved_and_testing_a_channel_are_audited(
    client, owner, worker_client, audited
):
    body = worker_client.post(EVENTS, event_body(), format="json").json()
    event = RepairEvent.objects.get(pk=body["id"])
    channel = ChannelFactory(name="ops")
    client.force_login(owner)

    run_action(
        client,
        reverse("admin:repairs_repairevent_changelist"),
        "mark_resolved",
        [event],
        lesson="Retry once after the maintenance window.",
    )
    client.post(
        reverse("admin:notifications_channel_changelist"),
        {"action": "send_test", "_selected_action": [channel.pk]},
    )

    assert audited(event) == [(owner.username, "console", "Marked resolved.")]
    assert audited(channel) == [(owner.username, "console", "Sent a test report.")]
