"""Workers, their Django users and their API tokens."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from core.audit import ADDITION, CHANGE, audit_record, said
from core.models import WEBHOOK_SECRET_FIELDS
from core.roles import WORKER
from repairs import postgres
from repairs.models import Worker, WorkerToken

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


def worker_callback_secret_rotate(*, worker: Worker, overlap: timedelta | None = None) -> str:
    """Gives the worker a new secret for its self-heal callbacks and returns it: the one
    time it is shown. The old one keeps signing beside it for ``overlap``
    (``PLS_WEBHOOK_SECRET_OVERLAP_HOURS`` by default; zero stops it at once)."""
    secret = worker.webhook_secret_rotate(
        timezone.now(), settings.PLS_WEBHOOK_SECRET_OVERLAP if overlap is None else overlap
    )
    worker.save(update_fields=WEBHOOK_SECRET_FIELDS)
    return secret


@transaction.atomic
def worker_token_issue(
    *, worker: Worker, issued_by: User | None = None, label: str = ""
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
    audit_record(
        user=issued_by,
        obj=token,
        action_flag=ADDITION,
        message=said(
            gettext_noop("Issued a token for %(worker)s (%(prefix)s…, %(label)s).")
            if label
            else gettext_noop("Issued a token for %(worker)s (%(prefix)s…)."),
            worker=worker.name,
            prefix=token.prefix,
            label=label,
        ),
    )
    return token, raw


@transaction.atomic
def worker_token_revoke(*, token: WorkerToken, revoked_by: User | None = None) -> bool:
    """Revokes a token; returns False if it was already revoked (the first revocation stands)."""
    updated = WorkerToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=revoked_by
    )
    if updated:
        audit_record(
            user=revoked_by,
            obj=token,
            action_flag=CHANGE,
            message=said(
                gettext_noop("Revoked the token %(prefix)s… of %(worker)s."),
                prefix=token.prefix,
                worker=token.worker.name,
            ),
        )
    return bool(updated)


def worker_token_authenticate(raw_token: str) -> WorkerToken | None:
    """The active token for ``raw_token``, with its worker and user, or None. Records when
    it was last used.

    Every API request of a worker starts here: one query for the token, its worker and its
    user. A revoked token or a deactivated user is refused on its next request.
    """
    find = postgres.worker_token_find if postgres.in_use() else worker_token_find_by_orm
    token = find(_digest(raw_token))
    if token is None or not token.worker.user.is_active:
        return None
    now = timezone.now()
    # Written at most once a minute per token, so heavy reporting does not turn every
    # request into two writes.
    if token.last_used_at is None or now - token.last_used_at > settings.PLS_TOKEN_TOUCH_INTERVAL:
        WorkerToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def worker_token_find_by_orm(digest: str) -> WorkerToken | None:
    """The ORM twin of ``postgres.worker_token_find``: the active token with this digest,
    its worker and its user, in one query."""
    return (
        WorkerToken.objects.select_related("worker__user")
        .filter(digest=digest, revoked_at__isnull=True)
        .first()
    )
