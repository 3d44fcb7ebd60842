"""Reminders and escalations of unanswered self-heal requests, after Alertmanager's
``repeat_interval``: the policy in force says, per action, how long after a request was
raised it is re-announced to its approving role (``remind_after``) and escalated to the
escalation role and channel as well (``escalate_after``)."""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.audience import later, when_read
from notifications.models import DecisionKind
from notifications.services import report_enqueue
from policies.models import WorkerPolicy
from policies.selectors import policy_current
from repairs.models import SelfHealRequest

Status = SelfHealRequest.Status
# kind → (the policy's key, the request's column that says it went out)
_KINDS = {"remind": ("remind_after", "reminded_at"), "escalate": ("escalate_after", "escalated_at")}
_BATCH = 1000


def self_heal_requests_remind(*, now: datetime | None = None) -> int:
    """Sends every reminder and escalation that is due; returns how many went out.

    Each is sent once per request: the run that marks the request's column (a conditional
    UPDATE) writes the outbox report in the same transaction, so a second run, or a run
    after a restart, finds it marked and sends nothing. When a run finds both due (beat
    was down), only the escalation goes out: it says all the reminder would.
    """
    now = now or timezone.now()
    policy = policy_current()
    unanswered = (
        SelfHealRequest.objects.filter(status=Status.PENDING, expires_at__gt=now)
        .filter(Q(reminded_at__isnull=True) | Q(escalated_at__isnull=True))
        .select_related("worker", "event")
        .order_by("created_at", "pk")
    )
    sent = 0
    for request in unanswered[:_BATCH]:
        due = [kind for kind in _KINDS if _due(request, policy, kind, now)]
        if "escalate" in due:
            due = ["escalate"]
        for kind in due:
            if _announce(request, kind, now):
                sent += 1
    return sent


def _due(request: SelfHealRequest, policy: WorkerPolicy, kind: str, now: datetime) -> bool:
    key, column = _KINDS[kind]
    after = policy.reminder_after(request.action, key)
    return (
        after is not None and getattr(request, column) is None and request.created_at + after <= now
    )


def _announce(request: SelfHealRequest, kind: str, now: datetime) -> bool:
    column = _KINDS[kind][1]
    with transaction.atomic():
        won = (
            SelfHealRequest.objects.filter(pk=request.pk, status=Status.PENDING)
            .filter(**{f"{column}__isnull": True})
            .update(**{column: now})
        )
        if not won:
            return False
        if kind == "remind":
            _remind(request, now)
        else:
            # An escalation makes a later reminder pointless.
            SelfHealRequest.objects.filter(pk=request.pk, reminded_at__isnull=True).update(
                reminded_at=now
            )
            _escalate(request, now)
    return True


def _content(request: SelfHealRequest, now: datetime) -> dict[str, Any]:
    """What a reminder and an escalation say, with the request's page and its buttons."""
    worker = request.worker
    waited = int((now - request.created_at).total_seconds() // 60)
    what = (
        later(
            _("%(action)s on %(resources)s"),
            action=request.action,
            resources=request.resources_shown,
        )
        if request.resources
        else request.action
    )
    return {
        "team": worker.team,
        "worker": worker.name,
        "task_id": request.event.job_ref,
        "progress": later(
            _("Waiting for a decision for %(minutes)s min. %(reason)s"),
            minutes=waited,
            reason=request.reason,
        ),
        "next_step": later(
            _(
                "Approve or reject self-heal request #%(id)s (%(what)s) before %(expires)s "
                "(%(role)s)."
            ),
            id=request.pk,
            what=what,
            expires=when_read(request.expires_at),
            role=request.approver_role,
        ),
        "link": reverse("admin:repairs_selfhealrequest_change", args=[request.pk]),
        "decision_kind": DecisionKind.SELF_HEAL_REQUEST,
        "decision_id": request.pk,
    }


def _remind(request: SelfHealRequest, now: datetime) -> None:
    report_enqueue(
        source="self_heal.reminder",
        title=later(
            _("Reminder: self-heal request #%(id)s from %(worker)s is still pending"),
            id=request.pk,
            worker=request.worker.name,
        ),
        status="warning",
        role=request.approver_role,
        dedup_key=f"self_heal.remind:{request.pk}",
        **_content(request, now),
    )


def _escalate(request: SelfHealRequest, now: datetime) -> None:
    """To the approving role, and to the escalation role (and channel, when one is set).
    A channel that takes both gets one: the second is its dedup key's duplicate."""
    fields = {
        "source": "self_heal.escalated",
        "title": later(
            _("Escalated: self-heal request #%(id)s from %(worker)s is unanswered"),
            id=request.pk,
            worker=request.worker.name,
        ),
        "status": "critical",
        "dedup_key": f"self_heal.escalate:{request.pk}",
        **_content(request, now),
    }
    report_enqueue(role=request.approver_role, **fields)
    role, channel = settings.PLS_ESCALATION_ROLE, settings.PLS_ESCALATION_CHANNEL
    if channel or role != request.approver_role:
        report_enqueue(role=role, channel=channel or None, **fields)
