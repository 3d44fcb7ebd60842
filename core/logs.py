"""Structured logs: every line, from structlog or the standard library, rendered as JSON
(``LOG_FORMAT=json``, the container image) or readable text (``LOG_FORMAT=text``, the
default), carrying the context bound for the work in hand:

- ``request_id``: read from the request's ``X-Request-ID`` (when it is a plain token) or
  issued, and returned on the response (``RequestIdMiddleware``). A report raised by the
  request keeps it on its outbox row, and the drain that sends the report logs it again.
- ``user`` / ``worker``: who is asking (``bind_actor``, from the authentication classes).
- ``task_id``: the Celery task (django-structlog's worker step, config/celery.py), which also
  carries the publishing request's context into the task.

Redaction runs on every rendered line: each value of the event passes through
``core.redaction.redact`` just before it is rendered (the ``RedactingFilter`` on the handler
also still runs on the message).
"""

import re
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from django.http import HttpRequest, HttpResponse

from core.redaction import redact

REQUEST_ID_HEADER = "X-Request-ID"
# A request id a client sends is used as it is only when it looks like one: no spaces,
# control characters or markup reach the logs (or the response header) from there.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

# Added to every line from the standard library (structlog's own lines have them already).
_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def redacted(value: Any) -> Any:
    """``value`` with every string in it (nested in dicts, lists and tuples) redacted."""
    if isinstance(value, str):
        return redact(value).text
    if isinstance(value, dict):
        return {key: redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redacted(item) for item in value]
    return value


def redact_event(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    """A structlog processor: every string in the event, redacted (the exception text too,
    which ``format_exc_info`` has rendered into ``exception`` by then)."""
    return {key: redacted(value) for key, value in event.items()}


def formatter(fmt: str) -> dict[str, Any]:
    """The ``logging`` formatter for ``LOG_FORMAT`` (``json`` or ``text``)."""
    renderer = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    return {
        "()": structlog.stdlib.ProcessorFormatter,
        "foreign_pre_chain": _SHARED,
        "processors": [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_event,
            renderer,
        ],
    }


def configure() -> None:
    """structlog's own loggers hand their events to ``logging``, so one handler (and its
    formatter) renders every line."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def current_request_id() -> str:
    return str(structlog.contextvars.get_contextvars().get("request_id", ""))


def bind_actor(*, user: str = "", worker: str = "") -> None:
    """Names who is asking on every line logged for the rest of the request."""
    structlog.contextvars.bind_contextvars(**({"worker": worker} if worker else {"user": user}))


def _bind_session_user(request: HttpRequest) -> None:
    # A person signed in to the console. Looking leaves the session's "accessed" mark as it
    # was, so a response does not vary on the cookie because of the log.
    session = getattr(request, "session", None)
    if session is None or not session.session_key:
        return  # API calls: the authentication classes bind the worker or the person
    accessed = session.accessed
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        bind_actor(user=user.get_username())
    session.accessed = accessed


class RequestIdMiddleware:
    """Binds the request id (and a signed-in person) for every line logged while the request
    is handled, returns the id as ``X-Request-ID``, and clears the context afterwards."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        sent = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = sent if _REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        _bind_session_user(request)
        try:
            response = self.get_response(request)
        finally:
            structlog.contextvars.clear_contextvars()
        response[REQUEST_ID_HEADER] = request_id
        return response
