"""The OpenAPI schema documents the errors, not only the successes.

drf-spectacular describes an operation's success responses; every error the API answers is
an RFC 9457 problem document (``core.problems``), and a client (or a fuzzer checking the
API against its schema) needs to know which statuses an operation may answer with and what
their body looks like. Each operation gets the problem statuses that apply to its shape;
a view documents a status of its own (e.g. 423) with ``extend_schema(responses=...)`` and
``ProblemOutput``, and any 4xx / 5xx it documents is served as ``application/problem+json``.
"""

from collections.abc import Callable

from django.conf import settings
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema_serializer
from rest_framework import serializers

from core.problems import PROBLEM_CONTENT_TYPE


class FieldErrorOutput(serializers.Serializer):
    pointer = serializers.CharField(help_text="JSON pointer to the field, e.g. #/gate")
    detail = serializers.CharField()
    code = serializers.CharField()


@extend_schema_serializer(component_name="Problem")
class ProblemOutput(serializers.Serializer):
    """RFC 9457 problem details; extension members (e.g. ``job``) may follow."""

    type = serializers.CharField(help_text="A URI naming the kind of problem")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    # DRF's serializer metaclass takes declared fields out of the class, so this field does not
    # replace Serializer.errors at run time, as mypy believes it does.
    errors = FieldErrorOutput(  # type: ignore[assignment]
        many=True, required=False, help_text="Field errors (400)"
    )


def request_examples(*examples: tuple[str, dict]) -> Callable[[type], type]:
    """Puts ``(summary, body)`` examples on a request serializer: the docs page offers them,
    and tests/test_openapi_schema.py checks each against the request's schema."""
    return extend_schema_serializer(
        examples=[
            OpenApiExample(str(summary), value=body, request_only=True)
            for summary, body in examples
        ]
    )


# Any operation: no or a bad credential; a role without the right (or a missing CSRF token);
# a login locked out by django-axes or a worker over its rate limit; the database restarting.
_EVERY_OPERATION = {
    401: "No credential, or an unknown or revoked token",
    403: "The caller may not do this",
    429: "Too many requests; see Retry-After",
    503: "The database is unavailable; retry after Retry-After",
}
_CHANGING = {
    409: "The record's state does not allow this (already decided, held, reused key, …)",
}
_WITH_BODY = {
    400: "The request is invalid (see errors), or its JSON malformed, nested deeper than "
    "PLS_MAX_JSON_DEPTH or holding a lone surrogate",
    413: "The body is larger than PLS_MAX_REQUEST_BYTES",
    415: "The body is not JSON",
}
_WITH_QUERY = {400: "A query parameter (or the cursor) is invalid; see errors"}
_WITH_PATH_OR_CURSOR = {404: "No such record visible to the caller"}


def area_tag(path: str) -> str | None:
    """The area an API path belongs to (``PLS_API_AREAS`` in settings: path prefix → tag,
    longest prefix first); ``None`` for a path no area claims."""
    areas = settings.PLS_API_AREAS
    for prefix in sorted(areas, key=len, reverse=True):
        if path.startswith(prefix):
            return areas[prefix]
    return None


_IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description=(
        "1 to 255 visible ASCII characters, kept PLS_IDEMPOTENCY_KEY_TTL_HOURS (24). The same "
        "key and request again: the first answer, with Idempotent-Replayed: true, and no "
        "second effect. The same key with another body: 409. Empty or longer: 400."
    ),
)
_KEYED = {400: "The request is invalid, or its Idempotency-Key is empty or too long"}


class ProblemAutoSchema(AutoSchema):
    def get_tags(self) -> list[str]:
        tag = area_tag(self.path)
        return [tag] if tag else super().get_tags()

    def _is_idempotent(self) -> bool:
        handler = getattr(self.view, self.method.lower(), None)
        return bool(getattr(handler, "idempotent", False))

    def get_override_parameters(self):  # type: ignore[no-untyped-def]
        parameters = list(super().get_override_parameters())
        if self._is_idempotent():
            parameters.append(_IDEMPOTENCY_KEY)
        return parameters

    def get_operation(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        places = {parameter["in"] for parameter in operation.get("parameters", [])}
        statuses = dict(_EVERY_OPERATION)
        if self.method not in ("GET", "HEAD", "OPTIONS"):
            statuses.update(_CHANGING)
        if "requestBody" in operation:
            statuses.update(_WITH_BODY)
        elif self._is_idempotent():
            statuses.update(_KEYED)
        if "query" in places:
            statuses.update(_WITH_QUERY)
        if "path" in places or "cursor" in _names(operation):
            statuses.update(_WITH_PATH_OR_CURSOR)
        responses = operation.setdefault("responses", {})
        for code, description in statuses.items():
            responses.setdefault(str(code), {"description": description})
        problem = self.resolve_serializer(ProblemOutput, "response").ref
        for code, response in responses.items():
            if code[:1] in "45":
                response["content"] = {PROBLEM_CONTENT_TYPE: {"schema": problem}}
        return operation


def _names(operation: dict) -> set[str]:
    return {parameter["name"] for parameter in operation.get("parameters", [])}


def lift_blank_defaults(result: dict, generator, request, public) -> dict:  # type: ignore[no-untyped-def]
    """drf-spectacular describes a blank-allowed string with a pattern or format as ``oneOf:
    [the string, maxLength 0]`` and puts its ``default: ''`` on the first branch, whose
    pattern '' does not match: strict validators refuse such a schema. The default belongs to
    the field, and the branches are alternatives that may both hold ('' is a valid blank and,
    for a URL, a string with no format check), so ``anyOf``. (A postprocessing hook.)"""
    for component in result.get("components", {}).get("schemas", {}).values():
        for prop in component.get("properties", {}).values():
            branches = prop.get("oneOf", [])
            if any("default" in branch for branch in branches):
                for branch in branches:
                    prop.setdefault("default", branch.pop("default", ""))
                prop["anyOf"] = prop.pop("oneOf")
    return result
