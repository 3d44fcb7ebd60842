"""The API's JSON parser: DRF's, with the two refusals Python's ``json`` module lacks.

- **Depth.** ``json`` recurses once per nested array or object, so 100 kB of ``[`` ran it
  past the interpreter's recursion limit (a 500). The body's nesting is measured before it is
  parsed, and JSON deeper than ``PLS_MAX_JSON_DEPTH`` is a 400. No JSON library on PyPI takes
  a configurable depth (orjson and pydantic-core stop at a fixed one), hence the scan here.
- **Lone surrogates.** JSON may spell half of a UTF-16 pair (``"\\ud800"``), which is no
  character: it cannot be stored as text or encoded as UTF-8 in an answer, and a field whose
  error message quoted it made the answer itself fail (a 500). Such a body is a 400 whose
  message does not repeat the value.

Both are ``ParseError``: a 400 problem document through the one exception handler.
"""

import io
import re
from typing import Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

# A JSON string literal; what is inside one never nests. (Brackets and quotes are ASCII, so
# the scan works on the UTF-8 bytes as sent.)
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")
# The only way a surrogate reaches a parsed string: a \uD800-\uDFFF escape. Pairs decode to
# one character; whatever surrogate is left after parsing stood alone.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def json_depth_exceeds(raw: bytes, limit: int) -> bool:
    """Whether the JSON text ``raw`` nests arrays and objects more than ``limit`` deep."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False  # the common case: too few brackets to nest that deep, nothing to scan
    depth = 0
    for bracket in _BRACKET.findall(_STRING.sub(b"", raw)):
        if bracket in b"[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def has_lone_surrogate(data: Any) -> bool:
    """Whether any string in the parsed JSON ``data`` (keys too) holds a lone surrogate."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):  # type: ignore[no-untyped-def]
        raw = stream.read() if stream is not None else b""
        limit = settings.PLS_MAX_JSON_DEPTH
        too_deep = ParseError(
            f"The JSON nests arrays and objects more than {limit} levels deep (PLS_MAX_JSON_DEPTH)."
        )
        if json_depth_exceeds(raw, limit):
            raise too_deep
        try:
            data = super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError:
            # Only in a charset whose bytes the scan above cannot read (e.g. UTF-16).
            raise too_deep from None
        if _SURROGATE_ESCAPE.search(raw) and has_lone_surrogate(data):
            raise ParseError(
                "The JSON holds a lone surrogate (a code point from U+D800 to U+DFFF escaped "
                "without its pair), which is not a character; send UTF-8 text, or escape whole "
                "surrogate pairs."
            )
        return data
