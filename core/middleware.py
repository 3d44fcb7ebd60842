"""What every request passes before any view: its body's size and framing, and control
characters where no name may hold one.

Two layers. ``RequestBodyFraming`` wraps the WSGI application (``config/wsgi.py``): it sees
the request as the server hands it over, before Django fixes the body's length. The Django
middlewares answer with problem documents and are what the test client exercises.
"""

import io
import re
from collections.abc import Callable, Iterable
from typing import IO, Any

from django.conf import settings
from django.core.validators import ProhibitNullCharactersValidator
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from core.problems import problem_response, refusal

# C0 controls and DEL. No job id, record id or console path contains one, and PostgreSQL
# refuses NUL in text outright.
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_READ_SIZE = 64 * 1024


def drain(stream: IO[bytes], max_bytes: int) -> int:
    """Reads and discards up to ``max_bytes`` of ``stream``; returns how many were read."""
    drained = 0
    while drained < max_bytes:
        chunk = stream.read(min(_READ_SIZE, max_bytes - drained))
        if not chunk:
            break
        drained += len(chunk)
    return drained


class RequestBodyLimitMiddleware:
    """Answers 413 for a body larger than ``PLS_MAX_REQUEST_BYTES`` before anything reads it.

    DRF's JSON parser reads the stream itself, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE alone
    would not stop a large JSON body. (The refused body is drained by ``RequestBodyFraming``
    after the answer is made.)
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return problem_response(
                400, _("Bad request"), _("Content-Length is not a number."), "bad-request"
            )
        limit = settings.PLS_MAX_REQUEST_BYTES
        if length > limit:
            return problem_response(
                413,
                _("Request body too large"),
                _("The body is %(length)s bytes; the limit is %(limit)s bytes.")
                % {"length": length, "limit": limit},
                type_slug="request-too-large",
            )
        return self.get_response(request)


class ControlCharactersMiddleware:
    """A control character in the path names nothing: 404. A NUL in the query string is a
    400 (PostgreSQL cannot compare text with one). Both used to reach the database and fail
    there with a 500: a job id (``/api/v1/jobs/abc%00def``), a console list filter
    (``?status__exact=a%00b``). Other control characters in a query are left to the filters,
    which treat them as any other text."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _CONTROL.search(request.path):
            return refusal(
                request, 404, _("No resource has a name with a control character."), "not-found"
            )
        with_nul = sorted(
            name
            for name, values in request.GET.lists()
            if "\x00" in name or any("\x00" in value for value in values)
        )
        if with_nul:
            return refusal(
                request,
                400,
                _("One or more fields are invalid; see errors."),
                "validation-error",
                errors=[
                    {
                        "pointer": f"#/{name}",
                        "detail": str(ProhibitNullCharactersValidator.message),
                        "code": "null_characters_not_allowed",
                    }
                    for name in with_nul
                ],
            )
        return self.get_response(request)


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class RequestBodyFraming:
    """The request body as the server hands it over, before and after Django.

    - **Chunked bodies** (``Transfer-Encoding: chunked``, no Content-Length) are read here and
      handed on with their length. Django takes the length from Content-Length alone, so it
      read such a body as empty: a report sent that way was judged as one with no fields. The
      server marks a body it ends itself with ``wsgi.input_terminated`` (gunicorn does). At
      most ``PLS_MAX_REQUEST_BYTES`` + 1 bytes are kept; a longer body is handed on as empty
      with the length seen, for ``RequestBodyLimitMiddleware`` to answer 413.
    - **What the app left unread** (a 413, a 401 before the body was parsed) is read and
      dropped once the answer is made and before it is sent, up to ``PLS_MAX_DRAIN_BYTES``.
      The connection is then ready for the client's next request; gunicorn itself drains only
      64 KiB, and closes a connection with more after announcing keep-alive, so the client's
      next request on it failed. A server that closes a connection with unread bytes also
      sends a reset, which a client still sending its body sees instead of the answer.
      Bodies too large to drain close their connection (``pre_request`` in
      ``config/gunicorn.conf.py``).
    """

    def __init__(self, application: WSGIApp) -> None:
        self.application = application

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]):  # type: ignore[no-untyped-def]
        stream = environ["wsgi.input"]
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and not environ.get("CONTENT_LENGTH") and environ.get("wsgi.input_terminated"):
            limit = settings.PLS_MAX_REQUEST_BYTES
            body = stream.read(limit + 1)
            length = len(body)
            if length > limit:
                length += drain(stream, settings.PLS_MAX_DRAIN_BYTES)
                body = b""
            environ["CONTENT_LENGTH"] = str(length)
            environ["wsgi.input"] = io.BytesIO(body)
        answer = self.application(environ, start_response)
        drain(stream, settings.PLS_MAX_DRAIN_BYTES)
        return answer


class ProfileMiddleware:
    """Speaks to a signed-in person in their own language and shows times on their own clock
    (``core.models.Profile``); blank fields keep the console's defaults. Placed after the
    authentication and locale middlewares. A worker's API request carries no session, so it
    costs nothing here."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from zoneinfo import ZoneInfo

        from django.utils import timezone, translation

        from core.profiles import profile_for

        user = getattr(request, "user", None)
        profile = profile_for(user) if user is not None and user.is_authenticated else None
        if profile is not None and profile.time_zone:
            timezone.activate(ZoneInfo(profile.time_zone))
        else:
            timezone.deactivate()
        if profile is not None and profile.language:
            translation.activate(profile.language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
