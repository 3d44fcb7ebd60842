"""Secrets are cut out of worker text before it is stored, shown or logged.

Workers paste raw command output; it often carries credentials. ``redact`` replaces each
secret with a marker naming its kind, ``[REDACTED:<kind>]``, so an operator sees *that*
something was redacted and what kind, never the value. The rules, and how to add one, are in
``config/redaction/rules.py``.
"""

import logging
from dataclasses import dataclass

from core.redaction.rules import RULES


@dataclass(frozen=True)
class Redacted:
    text: str
    count: int


def redact(text: str) -> Redacted:
    """Returns ``text`` with every recognised secret replaced by a marker, and the count."""
    if not text:
        return Redacted(text, 0)
    # Keywords are looked for in the text as it came: a marker never adds a secret, and a
    # rule the original text has no keyword of finds nothing in what is left of it.
    lowered = text.lower()
    count = 0
    for each in RULES:
        if each.applies_to(lowered):
            text, found = each.apply(text)
            count += found
    return Redacted(text, count)


def redact_clipped(text: str, max_chars: int) -> str:
    """``text`` redacted, then cut to ``max_chars``: for a column with a length limit, which
    a marker (longer than many a secret) could push the text past. The cut comes after the
    redaction, so it never leaves part of a secret behind."""
    return redact(text).text[:max_chars]


class RedactingFilter(logging.Filter):
    """Logging filter that redacts every record's rendered message before it is emitted."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, dict):
            # A structlog event, rendered (and redacted, field by field) by its formatter:
            # core.logs.redact_event.
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logged as is rather than dropped
            return True
        cleaned = redact(message).text
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
