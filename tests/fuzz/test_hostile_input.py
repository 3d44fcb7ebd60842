"""The input shapes that reached a 500 by hand (issue 12, finding 6), sent to every operation
of the served schema, as a worker and as the owner.

Schemathesis generates data the schema describes; these shapes are what it does not make up
by itself, each built for the operation it is sent to:

- path parameters with NUL and other control characters;
- query parameters with a NUL, control characters or 5 000 characters, and forged cursors
  on every cursor-paged list;
- JSON bodies nested 100 000 deep, with lone surrogates (in values and keys), with NUL in
  every string, list and object key, with invalid UTF-8, NaN or nothing at all;
- over-long and empty ``Idempotency-Key`` headers, a 10 kB header of no meaning, and
  credentials holding a NUL or 10 kB.

Every answer passes the same checks as the generated cases (``case.call_and_validate``): no
5xx, a documented status, a body matching the schema, every 4xx a problem document. Path
parameters the shapes leave alone are real ids of the fleet, so the shapes reach the views
behind the lookups. Deterministic; about 15 requests per operation and role.
"""

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from schemathesis.core import NOT_SET

from tests.fuzz.harness import known_ids, schema

pytestmark = pytest.mark.fuzz

OPERATIONS = [result.ok() for result in schema.get_all_operations()]

CONTROL = ["abc\x00def", "\x00", "\x01\x02", "a\nb", "\x1b[31m", "\x7f"]
FORGED_CURSORS = [
    base64.b64encode(raw).decode()
    for raw in (b"p=not-a-number", b"p=%00", b"p=99999999999999999999999999", b"o=x", b"r=x")
] + ["not base64!", "\x00"]
LONG = "x" * 10_000


def _resolved(definition: Any, bundle: dict) -> dict:
    """``definition`` with its ``$ref`` followed: into the body's bundle (schemathesis keeps a
    body's referenced schemas under ``x-bundled``) or the schema's components."""
    while isinstance(definition, dict) and "$ref" in definition:
        place, name = definition["$ref"].rsplit("/", 1)
        if place == "#/x-bundled":
            definition = bundle[name]
        else:
            definition = schema.raw_schema["components"]["schemas"][name]
    return definition if isinstance(definition, dict) else {}


def _body_properties(operation) -> dict[str, str]:
    """The JSON body's top-level properties and their types."""
    for body in operation.body:
        if body.media_type == "application/json":
            bundle = body.definition.get("x-bundled", {})
            properties = _resolved(body.definition, bundle).get("properties", {})
            return {
                name: _resolved(spec, bundle).get("type", "string")
                for name, spec in properties.items()
            }
    return {}


def _filled_with(properties: dict[str, str], text: str) -> dict:
    """Every property holding ``text``: as the string, the list item or the key and value."""
    shaped = {"object": {text: text}, "array": [text]}
    return {name: shaped.get(kind, text) for name, kind in properties.items()}


def _shapes(operation) -> Iterator[tuple[str, dict]]:
    """(what it is, the case's parts) for every hostile shape that applies to ``operation``."""
    ids = known_ids(operation.path)
    path = {p.name: (ids[0] if ids else 1) for p in operation.path_parameters}
    query_names = [p.name for p in operation.query]
    has_body = any(body.media_type == "application/json" for body in operation.body)
    base = {"path_parameters": path}

    for name in path:
        for value in CONTROL:
            yield f"path {name}={value!r}", {"path_parameters": {**path, name: value}}
    for name in query_names:
        for value in ["a\x00b", "\x01\x1f\x7f", "x" * 5000]:
            yield f"query {name}={value[:8]!r}", {**base, "query": {name: value}}
    if "cursor" in query_names:
        for cursor in FORGED_CURSORS:
            yield f"cursor {cursor!r}", {**base, "query": {"cursor": cursor}}
    if has_body:
        properties = _body_properties(operation)
        surrogates = json.dumps({**_filled_with(properties, "\ud800"), "\udfff": "\ud83d"})
        raw_bodies = {
            "100 kB of [": b"[" * 100_000,
            "objects nested 50 000 deep": b'{"a": ' * 50_000,
            "lone surrogates": surrogates.encode(),
            "NUL in every string and key": json.dumps(_filled_with(properties, "a\x00b")).encode(),
            "10 kB in every string": json.dumps(_filled_with(properties, LONG)).encode(),
            "invalid UTF-8": b'{"a": "\xff\xfe"}',
            "NaN": b'{"a": NaN}',
            "no body": b"",
        }
        for what, raw in raw_bodies.items():
            yield f"body: {what}", {**base, "body": raw, "media_type": "application/json"}
    yield "Idempotency-Key of 10 kB", {**base, "headers": {"Idempotency-Key": LONG}}
    yield "empty Idempotency-Key", {**base, "headers": {"Idempotency-Key": ""}}
    yield "a 10 kB header", {**base, "headers": {"X-Hostile": LONG}}
    for what, credential in [
        ("Basic with a NUL", "Basic " + base64.b64encode(b"ow\x00ner:pass\x00word").decode()),
        ("Basic of 10 kB", "Basic " + base64.b64encode(LONG.encode() + b":x").decode()),
        ("Bearer with a NUL", "Bearer pls_\x00abc"),
        ("Bearer of 10 kB", "Bearer " + LONG),
    ]:
        yield f"Authorization: {what}", {**base, "headers": {"Authorization": credential}}


def _send(operation, parts: dict, credentials: dict[str, str]) -> None:
    headers = {**credentials, **parts.get("headers", {})}
    case = operation.Case(
        path_parameters=parts.get("path_parameters") or None,
        query=parts.get("query"),
        body=parts.get("body", NOT_SET),
        media_type=parts.get("media_type"),
    )
    case.call_and_validate(headers=headers)


@pytest.mark.parametrize("role", ["worker", "owner"])
@pytest.mark.parametrize(
    "operation", OPERATIONS, ids=[f"{op.method.upper()} {op.path}" for op in OPERATIONS]
)
def test_no_operation_answers_hostile_input_with_an_error_of_its_own(
    operation, role, as_worker, as_owner
):
    credentials = as_worker if role == "worker" else as_owner
    for what, parts in _shapes(operation):
        try:
            _send(operation, parts, credentials)
        except BaseException as failure:
            failure.add_note(f"hostile shape: {what}")
            raise
