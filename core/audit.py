"""The audit trail: who changed what, when, and through which channel.

Every change a person makes (a decision, a policy change, a pause, a token, a channel, a
replay, a purge, a chat identity linked) is written by the service that makes it, with
``audit_record``, as one row of Django's admin log (``LogEntry``): the console's "Recent
actions" and its audit page read the same rows, whichever door the change came through.

The channel is the door: ``console`` (the admin site), ``api`` (``/api/``), ``chat`` (a
linked chat identity) or ``command`` (a management command or a shell on the server).
``AuditChannelMiddleware`` sets it per request, so services need not be told; a caller that
knows better passes ``via`` (the chat integration does). It is stored as a ``[channel]``
prefix of the change message.

What an entry says is a ``Said``: a msgid and its parameters, stored apart (as JSON after the
prefix) so that each reader reads the entry in their own language; ``message_of`` renders it.
Entries written before kept their English text and are shown as they are.

Audit rows are never edited, and retention never purges them.
"""

import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext

CONSOLE = "console"
API = "api"
CHAT = "chat"
COMMAND = "command"
CHANNELS = (CONSOLE, API, CHAT, COMMAND)

__all__ = [
    "ADDITION",
    "CHANGE",
    "CHANNELS",
    "DELETION",
    "Said",
    "audit_record",
    "audit_via",
    "label_said",
    "said",
]

_via: ContextVar[str] = ContextVar("pls_audit_via", default=COMMAND)
_PREFIX = re.compile(r"^\[(" + "|".join(CHANNELS) + r")\] ")
_REPR_CHARS = 200  # LogEntry.object_repr's max_length


@dataclass(frozen=True)
class Said:
    """What an audit entry says: ``msgid`` (marked with ``gettext_noop`` where it is
    written) and its parameters, each a plain value or another ``Said`` (a part of the
    sentence that is itself translated). Rendered in the active language by ``str()``."""

    msgid: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self._filled(gettext(self.msgid))

    def _filled(self, text: str) -> str:
        """``text`` (the msgid or its translation) with the parameters put in."""
        if not self.params:
            return text
        return text % {name: str(value) for name, value in self.params.items()}

    def stored(self) -> dict[str, Any]:
        params = {
            name: value.stored() if isinstance(value, Said) else value
            for name, value in self.params.items()
        }
        return {"msgid": self.msgid, "params": params}

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> "Said":
        params = {
            name: cls.from_stored(value) if isinstance(value, dict) else value
            for name, value in data.get("params", {}).items()
        }
        return cls(data["msgid"], params)


def label_said(label: Any) -> Said:
    """A choice's label (a ``gettext_lazy`` text) as a part of an audit sentence, read in
    each reader's language."""
    with translation.override(None):
        return Said(str(label))


def said(msgid: str, /, **params: Any) -> Said:
    """``Said(msgid, params)``; mark ``msgid`` with ``gettext_noop`` at the call."""
    return Said(msgid, params)


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
    message: Said,
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
    text = f"[{via}] " + json.dumps(message.stored(), ensure_ascii=False, default=str)
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


def _said_of(entry: LogEntry) -> tuple[bool, Said | None, str]:
    """Whether ``audit_record`` wrote the entry, what it says (None for an entry written
    before messages were stored as a ``Said``) and the text after the prefix."""
    raw = entry.change_message or ""
    match = _PREFIX.match(raw)
    if not match:
        return False, None, raw
    text = raw[match.end() :]
    if text.startswith("{"):
        try:
            return True, Said.from_stored(json.loads(text)), text
        except (ValueError, KeyError, TypeError, AttributeError):
            pass
    return True, None, text


def written_in_english(entry: LogEntry) -> bool:
    """Whether the entry keeps the English text it was written in: one ``audit_record``
    wrote before messages were stored as a ``Said``, shown as it was written."""
    ours, message, _text = _said_of(entry)
    return ours and message is None


def message_of(entry: LogEntry) -> str:
    """The entry's message in the active language, without its channel prefix; the admin's
    own entries as Django shows them."""
    ours, message, text = _said_of(entry)
    if not ours:
        return entry.get_change_message()
    if message is None:
        return text
    try:
        return str(message)
    except (KeyError, ValueError, TypeError):  # a translation that lost a placeholder
        return message._filled(message.msgid)


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
