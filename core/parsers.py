"""The API's JSON parser: DRF's, with the two refusals Python's ``json`` module lacks.

- **Depth.** ``json`` recurses once per nested array or object, so 100 kB of ``[`` ran it
  past the interpreter's recursion limit (a 500). JSON nesting arrays and objects deeper
  than ``PLS_MAX_JSON_DEPTH`` is now a 400, and so is JSON too deep to parse at all. The
  depth is measured on the parsed data (its containers, not its bytes: a body with long
  strings costs nothing more), and only when the body has more brackets than the limit. No
  JSON library on PyPI takes a configurable depth (orjson and pydantic-core stop at a fixed
  one), hence the check here.
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
from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

# The only way a surrogate reaches a parsed string: a \uD800-\uDFFF escape. Pairs decode to
# one character; whatever surrogate is left after parsing stood alone.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def nests_deeper_than(data: Any, limit: int) -> bool:
    """Whether parsed JSON ``data`` nests arrays and objects more than ``limit`` deep (a
    top-level object or array is depth 1)."""
    pending = [(data, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
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
            _(
                "The JSON nests arrays and objects more than %(limit)d levels deep "
                "(PLS_MAX_JSON_DEPTH)."
            )
            % {"limit": limit}
        )
        try:
            data = super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError:
            raise too_deep from None
        brackets = raw.count(b"[") + raw.count(b"{")
        if brackets > limit and nests_deeper_than(data, limit):
            raise too_deep
        if _SURROGATE_ESCAPE.search(raw) and has_lone_surrogate(data):
            raise ParseError(
                _(
                    "The JSON holds a lone surrogate (a code point from U+D800 to U+DFFF "
                    "escaped without its pair), which is not a character; send UTF-8 text, or "
                    "escape whole surrogate pairs."
                )
            )
        return data
