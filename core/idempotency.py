"""Idempotent writes: one decorator for every write a client may retry.

A request with an ``Idempotency-Key`` header is answered once; a retry with the same key and
the same request (method, path and body as data) gets that first answer again, marked
``Idempotent-Replayed: true``, and changes nothing; the same key with another request is a
409 problem. Keys belong to the caller (a worker's user): two workers may use the same one.

How concurrent retries are settled: the write and its key row are one transaction, and the
key row is inserted first. A second request with the key, arriving while the first is still
running, waits on the unique index (PostgreSQL holds its insert until the first commits or
rolls back), then replays the committed answer, or, if the first rolled back, runs itself.
So there is one effect, and no row is ever left "in progress" by a crashed process.

What a key costs: on PostgreSQL two statements besides the transaction's BEGIN and COMMIT,
the claim (one ``INSERT … ON CONFLICT``, which also takes over an expired key) and the
answer (an ``UPDATE`` by id); both are in ``core.postgres``, beside their ORM twins here,
which SQLite runs (the claim there is an insert in a savepoint).

What is kept: every answer below 500 except a 400. A 400 refused the request as malformed,
so nothing was done and the corrected request may reuse its key; a 5xx (a database outage)
rolls the write back with it, and the retry runs again. A 4xx that recorded something (a
claim of an unknown job records a stuck claim, a denied release records its verdict) is
kept, so its retry records nothing more.

Keys expire after ``PLS_IDEMPOTENCY_KEY_TTL_HOURS``: an expired key is treated as new, and
``idempotency_keys_purge`` (beat, hourly) deletes the old rows.
"""

import functools
import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from core import postgres
from core.exceptions import IdempotencyConflict
from core.metrics import Counter, Where
from core.models import IdempotencyKey

HEADER = "Idempotency-Key"
KEY = re.compile(r"[\x21-\x7e]{1,255}")
REPLAYED_HEADER = "Idempotent-Replayed"
# Headers of a first answer that its replays carry too.
_KEPT_HEADERS = ("Location", "Retry-After")

# Counted where the answer is replayed: always a web process (core.metrics, Where.PROCESS).
replays = Counter(
    "pls_idempotent_replays",
    "Retried writes answered with their first answer.",
    where=Where.PROCESS,
)

View = Any  # a DRF APIView; its method is wrapped as is
Method = Callable[..., Response]


def request_digest(method: str, path: str, payload: Any) -> str:
    """sha256 of a request as data: the body's key order and spacing do not matter."""
    canonical = json.dumps(
        [method, path, payload], sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotent(method: Method) -> Method:
    """Makes a DRF view's write method answer a keyed request once (see the module).

    Requests without the header run as before. The OpenAPI schema documents the header on
    every method marked this way (``core.openapi``)."""

    @functools.wraps(method)
    def wrapper(view: View, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        user_id = request.user.pk
        # Keys are the caller's; an anonymous request (permissions refuse it) has no keys.
        if key is None or user_id is None:
            return method(view, request, *args, **kwargs)
        if not KEY.fullmatch(key):
            raise exceptions.ValidationError(
                {HEADER: [_("Use 1 to 255 visible ASCII characters.")]}
            )
        digest = request_digest(request.method or "", request.path, request.data)
        try:
            with transaction.atomic():
                claimed = _claim(user_id, key, digest)
                if isinstance(claimed, IdempotencyKey):
                    return _replay(claimed, digest)
                response = _answer(method, view, request, args, kwargs)
                if not _kept(response.status_code):
                    raise _Undone(response)
                _keep(claimed, response)
                return response
        except _Undone as undone:
            return undone.response

    wrapper.idempotent = True  # type: ignore[attr-defined]
    return wrapper


def idempotency_keys_purge(*, now: datetime | None = None) -> int:
    """Deletes the keys older than ``PLS_IDEMPOTENCY_KEY_TTL_HOURS``; returns how many.
    Safe to run twice, and at any time: an expired key is already treated as new."""
    cutoff = IdempotencyKey.expiry_cutoff(now or timezone.now())
    deleted, _kinds = IdempotencyKey.objects.filter(created_at__lte=cutoff).delete()
    return deleted


class _Undone(Exception):
    """Rolls the write and its key back, answering ``response`` all the same."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _claim(user_id: int, key: str, digest: str) -> int | IdempotencyKey:
    """Claims the key for this request (its row's id), or returns the row of the first
    request with this key. On PostgreSQL the claim waits while another transaction holds an
    uncommitted row with the key, and then finds it committed or rolled back."""
    now = timezone.now()
    claim = postgres.idempotency_key_claim if postgres.in_use() else idempotency_key_claim_by_orm
    claimed = claim(user_id=user_id, key=key, digest=digest, now=now)
    if claimed is not None:
        return claimed
    # A live, committed row: the claim left it locked (PostgreSQL) or this transaction holds
    # the database's write lock (SQLite), so no purge can have deleted it since.
    return IdempotencyKey.objects.get(user_id=user_id, key=key)


def idempotency_key_claim_by_orm(
    *, user_id: int, key: str, digest: str, now: datetime
) -> int | None:
    """``core.postgres.idempotency_key_claim``'s twin: an insert in a savepoint, whose
    IntegrityError means a committed row has the key (a new one if that row had expired)."""
    for _attempt in range(2):
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(
                    user_id=user_id, key=key, request_digest=digest, created_at=now
                ).pk
        except IntegrityError:
            earlier = IdempotencyKey.objects.filter(user_id=user_id, key=key).first()
            if earlier is None:  # purged in between: insert again
                continue
            if not earlier.has_expired(now):
                return None
            # Expired but not purged yet: the key is free again.
            IdempotencyKey.objects.filter(pk=earlier.pk).delete()
    raise IdempotencyConflict(str(_("This Idempotency-Key is in use; retry shortly.")))


def _keep(pk: int, response: Response) -> None:
    """Keeps the answer on the claimed key's row, in the write's own transaction."""
    keep = postgres.idempotency_key_answer if postgres.in_use() else idempotency_key_answer_by_orm
    keep(
        pk=pk,
        status_code=response.status_code,
        body=json.dumps(response.data, cls=DjangoJSONEncoder),
        headers=json.dumps(_headers_of(response)),
    )


def idempotency_key_answer_by_orm(*, pk: int, status_code: int, body: str, headers: str) -> None:
    """``core.postgres.idempotency_key_answer``'s twin."""
    IdempotencyKey.objects.filter(pk=pk).update(
        status_code=status_code, response_body=body, response_headers=json.loads(headers)
    )


def _answer(method: Method, view: View, request: Request, args: Any, kwargs: Any) -> Response:
    # A refusal is an answer like any other: rendered here as dispatch() would, so that it
    # can be kept (and so the writes before it commit, as they did without a key).
    try:
        return method(view, request, *args, **kwargs)
    except Exception as exc:
        return view.handle_exception(exc)


def _kept(status_code: int) -> bool:
    return status_code < 500 and status_code != 400


def _headers_of(response: Response) -> dict[str, str]:
    headers = {name: response[name] for name in _KEPT_HEADERS if response.has_header(name)}
    if response.content_type:
        headers["Content-Type"] = response.content_type
    return headers


def _replay(earlier: IdempotencyKey, digest: str) -> Response:
    if earlier.request_digest != digest:
        raise IdempotencyConflict(
            str(
                _(
                    "This Idempotency-Key was first used with a different request; use a new "
                    "key for a new request."
                )
            )
        )
    if earlier.status_code is None:  # cannot be seen committed; kept for safety
        raise IdempotencyConflict(str(_("The first request with this key is still running.")))
    replays.inc()
    headers = dict(earlier.response_headers)
    content_type = headers.pop("Content-Type", None)
    return Response(
        json.loads(earlier.response_body) if earlier.response_body else None,
        status=earlier.status_code,
        headers={**headers, REPLAYED_HEADER: "true"},
        content_type=content_type,
    )
