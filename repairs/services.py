"""Every write to workers, tokens and repair events goes through these functions."""

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.roles import WORKER
from repairs import metrics
from repairs.evidence import clean_evidence, fingerprint
from repairs.exceptions import IdempotencyConflict
from repairs.models import Job, RepairEvent, Worker, WorkerToken
from repairs.redaction import redact

# A fixed prefix makes a leaked token easy to recognise and to scan for.
TOKEN_PREFIX = "pls_"


def _digest(raw_token: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is as safe as a slow one here and
    # keeps authentication to one indexed lookup.
    return hashlib.sha256(raw_token.encode()).hexdigest()


@transaction.atomic
def worker_register(worker: Worker) -> Worker:
    """Saves a new worker with the Django user it acts as, in group ``worker``."""
    worker.full_clean(exclude=["user"])
    user = get_user_model().objects.create_user(username=f"worker-{worker.name}")
    user.set_unusable_password()
    user.save(update_fields=["password"])
    user.groups.add(Group.objects.get(name=WORKER))
    worker.user = user
    worker.save()
    return worker


def worker_token_issue(
    *, worker: Worker, issued_by: AbstractBaseUser | None = None, label: str = ""
) -> tuple[WorkerToken, str]:
    """Issues a token and returns it with the raw value, which is never stored or shown again."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = WorkerToken.objects.create(
        worker=worker,
        digest=_digest(raw),
        prefix=raw[:12],
        label=label,
        created_by=issued_by,
    )
    return token, raw


def worker_token_revoke(*, token: WorkerToken, revoked_by: AbstractBaseUser | None = None) -> bool:
    """Revokes a token; returns False if it was already revoked (the first revocation stands)."""
    updated = WorkerToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=revoked_by
    )
    return bool(updated)


def worker_token_authenticate(raw_token: str) -> WorkerToken | None:
    """The active token for ``raw_token``, or None. Records when it was last used."""
    token = (
        WorkerToken.objects.select_related("worker__user")
        .filter(digest=_digest(raw_token), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.worker.user.is_active:
        return None
    now = timezone.now()
    # Written at most once a minute per token, so heavy reporting does not turn every
    # request into two writes.
    if token.last_used_at is None or now - token.last_used_at > settings.PLS_TOKEN_TOUCH_INTERVAL:
        WorkerToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def request_digest(payload: Any) -> str:
    """Digest of a request body as data, so key order and whitespace do not matter."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class ReportedEvent:
    event: RepairEvent
    replayed: bool


def repair_event_report(
    *,
    worker: Worker,
    gate: str,
    error_class: str,
    job_ref: str = "",
    phase: str = "",
    action: str = "",
    message: str = "",
    evidence: str = "",
    occurred_at: datetime | None = None,
    idempotency_key: str | None = None,
    digest: str = "",
) -> ReportedEvent:
    """Records a worker's repair event, or returns the earlier one for a repeated request.

    The same ``idempotency_key`` with the same ``digest`` returns the first event; with
    another digest it raises ``IdempotencyConflict``. Concurrent retries are settled by the
    database's unique constraint, so only one row is ever written.
    """
    if idempotency_key:
        earlier = RepairEvent.objects.filter(worker=worker, idempotency_key=idempotency_key).first()
        if earlier is not None:
            return _replay(earlier, digest)

    message = redact(message).text
    phase = redact(phase).text
    evidence_clean = clean_evidence(evidence, settings.PLS_EVIDENCE_MAX_BYTES)
    now = timezone.now()
    occurred_at = occurred_at or now
    event_fingerprint = fingerprint(error_class, message)
    window_start = now - settings.PLS_REPEAT_WINDOW
    # Counted up to a cap: an outage repeats one fingerprint thousands of times, and an
    # uncapped count would read every one of them on every new report.
    earlier_repeats = (
        RepairEvent.objects.filter(fingerprint=event_fingerprint, occurred_at__gte=window_start)
        # Without this, Meta.ordering ("-id") puts ORDER BY id DESC under the LIMIT and
        # PostgreSQL walks the whole primary key instead of the (fingerprint, time) index.
        .order_by()
        .values("pk")[: settings.PLS_REPEAT_COUNT_CAP - 1]
        .count()
    )
    job = Job.objects.filter(external_id=job_ref).first() if job_ref else None

    try:
        with transaction.atomic():
            event = RepairEvent.objects.create(
                worker=worker,
                job=job,
                job_ref=job_ref,
                gate=gate,
                error_class=error_class,
                fingerprint=event_fingerprint,
                phase=phase,
                action=action,
                message=message,
                evidence=evidence_clean.text,
                evidence_cut_bytes=evidence_clean.cut_bytes,
                redactions=evidence_clean.redactions,
                repeat_count=earlier_repeats + 1,
                idempotency_key=idempotency_key or None,
                request_digest=digest,
                occurred_at=occurred_at,
            )
    except IntegrityError:
        if not idempotency_key:
            raise
        # A concurrent request with the same key committed first: answer as it did.
        earlier = RepairEvent.objects.get(worker=worker, idempotency_key=idempotency_key)
        return _replay(earlier, digest)

    metrics.repair_events.labels(gate=gate).inc()
    if evidence_clean.redactions:
        metrics.evidence_redactions.inc(evidence_clean.redactions)
    return ReportedEvent(event, replayed=False)


def _replay(earlier: RepairEvent, digest: str) -> ReportedEvent:
    if earlier.request_digest != digest:
        raise IdempotencyConflict(
            "This Idempotency-Key was first used with a different body; use a new key "
            "for a new event.",
            event=earlier.pk,
        )
    metrics.idempotent_replays.inc()
    return ReportedEvent(earlier, replayed=True)
