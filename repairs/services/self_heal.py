"""Self-heal requests: a worker's escalated action, decided by a human or expired."""

import re
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from core import broker
from core.audience import later
from core.audit import CHANGE, Said, audit_record, said
from core.exceptions import NotAllowed
from core.http import BlockedAddress, post_json
from notifications.services import report_enqueue
from repairs import metrics
from repairs.exceptions import CallbackFailed, RequestAlreadyDecided, RequestExpired
from repairs.models import SelfHealRequest
from repairs.services.stuck_claims import job_self_heal_carry_out

Status = SelfHealRequest.Status
# The sweep re-sends a callback only after the task's own retries had their chance, and
# gives up on a URL after this many attempts (the worker can still poll).
CALLBACK_SWEEP_AFTER = timedelta(minutes=10)
CALLBACK_MAX_ATTEMPTS = 12
_USER_INFO = re.compile(r"^([a-z][a-z0-9+.-]*://)[^/?#]*@", re.IGNORECASE)


def self_heal_request_decide(
    *, request: SelfHealRequest, user: User, approve: bool, note: str = ""
) -> SelfHealRequest:
    """Approves or rejects a pending request, once, by the role the policy named.

    Refused for the requester (four-eyes), for workers, for any other role, for a request
    already decided and for one past its expiry (which is then recorded as expired).
    """
    now = timezone.now()
    with transaction.atomic():
        locked = SelfHealRequest.objects.select_for_update().get(pk=request.pk)
        refused = locked.refusal_for(user)
        if refused:
            raise NotAllowed(refused)
        if locked.status != Status.PENDING:
            raise RequestAlreadyDecided(
                gettext("Self-heal request #%(id)s is already %(status)s.")
                % {"id": locked.pk, "status": locked.status},
                current_status=locked.status,
            )
        expired = locked.expires_at <= now
        if expired:
            _settle(locked, Status.EXPIRED, now)
        else:
            locked.decided_by = user
            locked.note = note
            _settle(locked, Status.APPROVED if approve else Status.REJECTED, now)
            audit_record(
                user=user,
                obj=locked,
                action_flag=CHANGE,
                message=_decision_said(locked, approve=approve, note=note),
            )
            if approve:
                # An approved release or reclaim happens now, with the approval: the worker
                # polls the request and finds the job already released or its own.
                job_self_heal_carry_out(request=locked)
    if expired:
        # Raised after the commit, so the expiry itself is kept.
        raise RequestExpired(
            gettext("Self-heal request #%(id)s expired at %(expired)s; the worker must ask again.")
            % {"id": locked.pk, "expired": locked.expires_at.isoformat()},
            current_status=Status.EXPIRED,
        )
    return locked


def self_heal_requests_expire(*, now: datetime | None = None) -> int:
    """Marks every pending request past its expiry as expired and tells its worker's team.

    Each row is claimed with a conditional update, so two runs at once expire it once.
    """
    now = now or timezone.now()
    due = SelfHealRequest.objects.filter(status=Status.PENDING, expires_at__lte=now)
    expired = 0
    for pk in due.order_by("expires_at").values_list("pk", flat=True)[:1000]:
        with transaction.atomic():
            request = SelfHealRequest.objects.select_for_update().get(pk=pk)
            if request.status != Status.PENDING:
                continue
            _settle(request, Status.EXPIRED, now)
            expired += 1
    return expired


def self_heal_request_expire(*, request: SelfHealRequest, now: datetime) -> bool:
    """Marks one pending request past its expiry as expired (with its owner report), under
    its row lock; False when it was no longer pending."""
    with transaction.atomic():
        locked = SelfHealRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status != Status.PENDING or locked.expires_at > now:
            return False
        _settle(locked, Status.EXPIRED, now)
    return True


def _settle(request: SelfHealRequest, status: str, now: datetime) -> None:
    """Writes the final status, the owner report and (after commit) the worker's callback."""
    request.status = status
    request.decided_at = now
    request.save(update_fields=["status", "decided_by", "decided_at", "note"])
    worker = request.worker
    report_enqueue(
        source="self_heal.expired" if status == Status.EXPIRED else "self_heal.decided",
        title=later(
            _SETTLED_BY[Status(status)] if request.decided_by_id else _SETTLED[Status(status)],
            id=request.pk,
            what=_what(request),
            by=str(request.decided_by),
        ),
        status="warning" if status == Status.EXPIRED else "normal",
        team=worker.team,
        worker=worker.name,
        task_id=request.event.job_ref,
        progress=request.note,
        next_step=(
            _("The worker asks again or records the blocker.")
            if status == Status.EXPIRED
            else later(_("The worker may %(action)s now."), action=request.action)
            if status == Status.APPROVED
            else _("The worker records the blocker and moves on.")
        ),
        dedup_key=f"self_heal.{status}:{request.pk}",
        link=reverse("admin:repairs_selfhealrequest_change", args=[request.pk]),
    )
    if status != Status.EXPIRED:
        seconds = (now - request.created_at).total_seconds()
        metrics.approval_latency.labels(status=status).observe(max(seconds, 0.0))
    if request.callback_url:
        from repairs.tasks import self_heal_callback_send

        # Never holds up or fails the decision: if the broker is down, the sweep sends it.
        transaction.on_commit(lambda: broker.publish(self_heal_callback_send, [[request.pk]]))


_DECIDED = {  # (approved, with a note) → what the audit entry says
    (True, True): gettext_noop("Approved %(what)s for %(worker)s: %(note)s"),
    (True, False): gettext_noop("Approved %(what)s for %(worker)s."),
    (False, True): gettext_noop("Rejected %(what)s for %(worker)s: %(note)s"),
    (False, False): gettext_noop("Rejected %(what)s for %(worker)s."),
}


def _decision_said(request: SelfHealRequest, *, approve: bool, note: str) -> Said:
    what: str | Said = request.action
    if request.resources:
        what = said(
            gettext_noop("%(action)s on %(resources)s"),
            action=request.action,
            resources=request.resources_shown,
        )
    return said(_DECIDED[approve, bool(note)], what=what, worker=str(request.worker), note=note)


def _what(request: SelfHealRequest) -> str | Promise:
    """The request's action, and what it acts on, as a report names them."""
    if not request.resources:
        return request.action
    return later(
        _("%(action)s on %(resources)s"), action=request.action, resources=request.resources_shown
    )


# A settled request's report title, by its status (and by whom it was decided).
_SETTLED = {
    Status.APPROVED: _("Self-heal request #%(id)s (%(what)s) approved"),
    Status.REJECTED: _("Self-heal request #%(id)s (%(what)s) rejected"),
    Status.EXPIRED: _("Self-heal request #%(id)s (%(what)s) expired"),
}
_SETTLED_BY = {
    Status.APPROVED: _("Self-heal request #%(id)s (%(what)s) approved by %(by)s"),
    Status.REJECTED: _("Self-heal request #%(id)s (%(what)s) rejected by %(by)s"),
    Status.EXPIRED: _("Self-heal request #%(id)s (%(what)s) expired by %(by)s"),
}


def callback_payload(request: SelfHealRequest) -> dict:
    return {
        "type": "self_heal_request.decided",
        "self_heal_request": request.pk,
        "event": request.event_id,
        "worker": request.worker.name,
        "job": request.event.job_ref or None,
        "action": request.action,
        "target": request.target,
        "resources": request.resources,
        "status": request.status,
        "note": request.note,
        "decided_by": (
            request.decided_by.get_username() if request.decided_by is not None else None
        ),
        "decided_at": request.decided_at.isoformat() if request.decided_at else None,
    }


def self_heal_callback_deliver(*, request_id: int) -> bool:
    """POSTs the decision to the worker's callback URL, signed the Standard Webhooks way
    with the worker's callback secret(s); ``webhook-id`` names the request, the same on every
    attempt. Returns False when there is nothing (more) to send; raises ``CallbackFailed`` for
    the task to retry. Safe to run twice: a delivered callback is not sent again."""
    request = SelfHealRequest.objects.select_related("worker", "decided_by", "event").get(
        pk=request_id
    )
    if (
        not request.callback_url
        or request.callback_delivered_at
        or request.status == Status.PENDING
    ):
        return False
    SelfHealRequest.objects.filter(pk=request.pk).update(
        callback_attempts=request.callback_attempts + 1
    )
    try:
        response = post_json(
            _callback_target(request.callback_url),
            callback_payload(request),
            webhook_id=f"msg_pls_self_heal_{request.pk}",
            webhook_secrets=request.worker.webhook_secrets(timezone.now()),
            guarded=True,
        )
        error = "" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
    except BlockedAddress as exc:
        # Asking again cannot change where the worker pointed us: give up on this URL.
        SelfHealRequest.objects.filter(pk=request.pk).update(
            callback_attempts=CALLBACK_MAX_ATTEMPTS,
            callback_last_error=f"refused: the URL resolves to a private address ({exc})"[:500],
        )
        metrics.callbacks.labels(result="refused").inc()
        return False
    except OSError as exc:  # requests' errors derive from OSError
        error = f"{type(exc).__name__}: {exc}"
    if error:
        SelfHealRequest.objects.filter(pk=request.pk).update(callback_last_error=error[:500])
        metrics.callbacks.labels(result="failed").inc()
        raise CallbackFailed(error)
    SelfHealRequest.objects.filter(pk=request.pk, callback_delivered_at__isnull=True).update(
        callback_delivered_at=timezone.now(), callback_last_error=""
    )
    metrics.callbacks.labels(result="delivered").inc()
    return True


def _callback_target(url: str) -> str:
    """The callback URL as called: without its user info. A password there was redacted
    before the URL was stored (and a redaction marker is no valid host part); a callback
    is authenticated by its signature, not by credentials in the URL."""
    return _USER_INFO.sub(r"\1", url)


def self_heal_callbacks_due(*, limit: int = 100) -> list[int]:
    """Decided requests whose callback has not gone out after its retries should have run."""
    settled_before = timezone.now() - CALLBACK_SWEEP_AFTER
    return list(
        SelfHealRequest.objects.exclude(status=Status.PENDING)
        .exclude(callback_url="")
        .filter(
            callback_delivered_at__isnull=True,
            decided_at__lte=settled_before,
            callback_attempts__lt=CALLBACK_MAX_ATTEMPTS,
        )
        .order_by("decided_at")
        .values_list("pk", flat=True)[:limit]
    )
