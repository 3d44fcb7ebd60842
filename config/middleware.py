from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from config.problems import problem_response


class RequestBodyLimitMiddleware:
    """Answers 413 for a body larger than ``PLS_MAX_REQUEST_BYTES`` before anything reads it.

    DRF's JSON parser reads the stream itself, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE alone
    would not stop a large JSON body.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return problem_response(400, "Bad request", "Content-Length is not a number.")
        limit = settings.PLS_MAX_REQUEST_BYTES
        if length > limit:
            return problem_response(
                413,
                "Request body too large",
                f"The body is {length} bytes; the limit is {limit} bytes.",
                type_slug="request-too-large",
            )
        return self.get_response(request)
