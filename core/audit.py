"""The audit trail: who changed what, when, and through which channel.

Every change a person makes (a decision, a policy change, a pause, a token, a channel, a
replay, a purge, a chat identity linked) is written by the service that makes it, with
``audit_record``, as one row of Django's admin log (``LogEntry``): the console's "Recent
actions" and its audit page read the same rows, whichever door the change came through.

The channel is the door: ``console`` (the admin site), ``api`` (``/api/``), ``chat`` (a
linked chat identity) or ``command`` (a management command or a shell on the server).
``AuditChannelMiddleware`` sets it per request, so services need not be told; a caller that
knows better passes ``via`` (the chat integration does). It is stored as a ``[channel]``
prefix of the change message, which Django shows as it is.

Audit rows are never edited, and retention never purges them.
"""

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse

CONSOLE = "console"
API = "api"
CHAT = "chat"
COMMAND = "command"
CHANNELS = (CONSOLE, API, CHAT, COMMAND)

__all__ = ["ADDITION", "CHANGE", "CHANNELS", "DELETION", "audit_record", "audit_via"]

_via: ContextVar[str] = ContextVar("pls_audit_via", default=COMMAND)
_PREFIX = re.compile(r"^\[(" + "|".join(CHANNELS) + r")\] ")
_REPR_CHARS = 200  # LogEntry.object_repr's max_length


def current_via() -> str:
    """The channel the running code was reached through."""
    return _via.get()


@contextmanager
def audit_via(via: str) -> Iterator[None]:
    """Records what runs inside as having come through ``via``."""
    if via not in CHANNELS:
        raise ValueError(f"unknown audit channel {via!r}; one of {', '.join(CHANNELS)}")
    token = _via.set(via)
    try:
        yield
    finally:
        _via.reset(token)


def audit_record(
    *,
    user: Any,
    obj: Model | type[Model] | QuerySet,
    action_flag: int,
    message: str,
    via: str | None = None,
) -> list[LogEntry]:
    """Writes the audit rows of one change a person made, in the caller's transaction.

    ``obj`` is the row changed, a queryset of rows changed alike (one entry each), or a
    model class for a change to many rows at once (a purge). ``action_flag`` is Django's
    ``ADDITION``, ``CHANGE`` or ``DELETION``. Nothing is written without a person (a worker's
    own report, beat, a command run without one): ``user`` None or a worker's account.
    """
    if user is None or not getattr(user, "is_authenticated", False) or _is_worker(user):
        return []
    via = via or current_via()
    if via not in CHANNELS:
        raise ValueError(f"unknown audit channel {via!r}; one of {', '.join(CHANNELS)}")
    text = f"[{via}] {message}"
    if isinstance(obj, QuerySet):
        rows: list[tuple[ContentType, str | None, str]] = [
            (ContentType.objects.get_for_model(row), str(row.pk), str(row)) for row in obj
        ]
    elif isinstance(obj, type):
        rows = [(ContentType.objects.get_for_model(obj), None, str(obj._meta.verbose_name_plural))]
    else:
        rows = [(ContentType.objects.get_for_model(obj), str(obj.pk), str(obj))]
    return LogEntry.objects.bulk_create(
        [
            LogEntry(
                user_id=user.pk,
                content_type=content_type,
                object_id=object_id,
                object_repr=shown[:_REPR_CHARS],
                action_flag=action_flag,
                change_message=text,
            )
            for content_type, object_id, shown in rows
        ]
    )


def _is_worker(user: Any) -> bool:
    # Workers act through their own reports, which are records already; the audit trail is
    # for people. A worker's account is the one with a ``worker`` row (repairs.Worker.user).
    try:
        return user.worker is not None
    except ObjectDoesNotExist:  # a person
        return False


def channel_of(entry: LogEntry) -> str:
    """The channel an entry came through; the admin's own entries (a form saved in the
    console) carry none and are the console's."""
    match = _PREFIX.match(entry.change_message or "")
    return match.group(1) if match else CONSOLE


def written_in_english(entry: LogEntry) -> bool:
    """Whether the entry's message is one ``audit_record`` wrote: a record kept as it was
    written, in English (like a log line, the same text for every reader and for search).
    The admin's own entries are Django's structured messages, read in the reader's
    language."""
    return bool(_PREFIX.match(entry.change_message or ""))


def message_of(entry: LogEntry) -> str:
    """The entry's message without its channel prefix, as Django would show it."""
    text = entry.get_change_message()
    return _PREFIX.sub("", text, count=1)


def channel_filter(via: str) -> Q:
    """The entries that came through ``via``, as a query."""
    if via != CONSOLE:
        return Q(change_message__startswith=f"[{via}] ")
    others = Q()
    for other in CHANNELS:
        if other != CONSOLE:
            others |= Q(change_message__startswith=f"[{other}] ")
    return ~others


class AuditChannelMiddleware:
    """Sets the audit channel of each request: the console's pages (the admin site) are
    ``console``, everything under ``/api/`` is ``api``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._console: str | None = None

    def _console_prefix(self) -> str:
        if self._console is None:
            try:
                self._console = reverse("admin:index")
            except NoReverseMatch:
                self._console = "/admin/"
        return self._console

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith("/api/"):
            via = API
        elif path.startswith(self._console_prefix()):
            via = CONSOLE
        else:
            return self.get_response(request)
        with audit_via(via):
            return self.get_response(request)
