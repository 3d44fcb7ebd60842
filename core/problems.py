"""RFC 9457 problem details for every error the API returns.

One DRF exception handler turns domain and framework exceptions into
``application/problem+json`` documents; Django-level 404 / 500 handlers do the same for
requests that never reach a DRF view.
"""

from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError, connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.exceptions import DomainError

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_BASE = "https://pls-ops-console.dev/problems/"


# The titles of the statuses the console answers with, in the person's language; any other
# status keeps its HTTP reason phrase. The `type` never changes with the language.
STATUS_TITLES = {
    400: gettext_lazy("Bad Request"),
    401: gettext_lazy("Unauthorized"),
    403: gettext_lazy("Forbidden"),
    404: gettext_lazy("Not Found"),
    405: gettext_lazy("Method Not Allowed"),
    406: gettext_lazy("Not Acceptable"),
    409: gettext_lazy("Conflict"),
    413: gettext_lazy("Request Entity Too Large"),
    415: gettext_lazy("Unsupported Media Type"),
    423: gettext_lazy("Locked"),
    429: gettext_lazy("Too Many Requests"),
    500: gettext_lazy("Internal Server Error"),
    503: gettext_lazy("Service Unavailable"),
}


def problem(
    status_code: int, title: str | Promise, detail: str, type_slug: str, **extra: Any
) -> dict:
    # Extension members never override the standard ones (an extra "status" once did).
    # The title follows the request's language (a lazy text becomes a string here).
    return {
        **extra,
        "type": PROBLEM_BASE + type_slug,
        "title": str(title),
        "status": status_code,
        "detail": detail,
    }


def problem_response(
    status_code: int, title: str, detail: str, type_slug: str = "", **extra: Any
) -> JsonResponse:
    slug = type_slug or title.lower().replace(" ", "-")
    return JsonResponse(
        problem(status_code, title, detail, slug, **extra),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def _field_errors(detail: Any, pointer: str = "#") -> list[dict]:
    """Flatten DRF's nested ValidationError detail into RFC 9457 ``errors`` with pointers."""
    if isinstance(detail, dict):
        errors = []
        for field, sub in detail.items():
            sub_pointer = pointer if field == "non_field_errors" else f"{pointer}/{field}"
            errors.extend(_field_errors(sub, sub_pointer))
        return errors
    if isinstance(detail, list):
        if all(isinstance(item, exceptions.ErrorDetail | str) for item in detail):
            return [
                {"pointer": pointer, "detail": str(item), "code": getattr(item, "code", "invalid")}
                for item in detail
            ]
        errors = []
        for index, sub in enumerate(detail):
            errors.extend(_field_errors(sub, f"{pointer}/{index}"))
        return errors
    return [{"pointer": pointer, "detail": str(detail), "code": getattr(detail, "code", "invalid")}]


def problem_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        body = problem(exc.status_code, exc.title, exc.detail, exc.type_slug, **exc.extra)
        return Response(body, status=exc.status_code, content_type=PROBLEM_CONTENT_TYPE)
    if isinstance(exc, OperationalError | InterfaceError):
        # The database is down or restarting: say so, and when to retry, rather than 500.
        # Dropping the broken connection lets the next request reconnect by itself.
        connection.close_if_unusable_or_obsolete()
        body = problem(
            503,
            gettext("Service Unavailable"),
            gettext("The database is unavailable; retry shortly."),
            "database-unavailable",
        )
        return Response(
            body, status=503, content_type=PROBLEM_CONTENT_TYPE, headers={"Retry-After": "5"}
        )
    if isinstance(exc, RequestDataTooBig):
        exc = exceptions.APIException(gettext("The request body is too large."))
        exc.status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None  # a real bug: Django's 500 handler answers with a problem document

    if isinstance(exc, exceptions.ValidationError):
        body = problem(
            response.status_code,
            gettext("Invalid request"),
            gettext("One or more fields are invalid; see errors."),
            "validation-error",
            errors=_field_errors(exc.detail),
        )
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = getattr(detail, "code", None) or "error"
        body = problem(
            response.status_code,
            _title_for(response.status_code),
            str(detail),
            str(code).replace("_", "-"),
        )
    response.data = body
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def _title_for(status_code: int) -> str:
    if status_code in STATUS_TITLES:
        return str(STATUS_TITLES[status_code])
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return "Error"


def wants_problem(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def refusal(
    request: HttpRequest, status_code: int, detail: str, type_slug: str, **extra: Any
) -> HttpResponse:
    """A refusal made outside DRF: a problem document on the API, Django's own error page
    (or the console's template for it) everywhere else. ``detail`` is shown on the API only;
    pages say no more than their status."""
    if wants_problem(request):
        return problem_response(status_code, _title_for(status_code), detail, type_slug, **extra)
    if status_code == 404:
        return defaults.page_not_found(request, Http404())
    return defaults.bad_request(request, SuspiciousOperation())


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    detail = gettext("No resource at %(path)s.") % {"path": request.path}
    return refusal(request, 404, detail, "not-found")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # Django's own refusals before any view (a Host not in ALLOWED_HOSTS, too many fields).
    # Their messages quote the input, so the answer does not.
    return refusal(request, 400, gettext("The request is malformed."), "bad-request")


def server_error(request: HttpRequest) -> HttpResponse:
    if not wants_problem(request):
        return defaults.server_error(request)
    return problem_response(
        500,
        gettext("Internal Server Error"),
        gettext("The server failed; the error is logged."),
        "server-error",
    )
