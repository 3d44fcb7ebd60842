"""How policy values and changes read in the console."""

import json
from datetime import timedelta
from typing import Any

from django.utils.html import format_html, format_html_join

from policies.models import DURATION_FIELDS


def duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def readable(field: str, value: Any) -> str:
    """A policy value as JSON shows it (durations in seconds), with the duration spelt out."""
    if field in DURATION_FIELDS and isinstance(value, int):
        return f"{value} s ({duration(timedelta(seconds=value))})"
    if value is None:
        return "—"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def changes_list(changes: dict[str, list[Any]]) -> str:
    """``{field: [before, after]}`` as an HTML list of ``field: before → after``."""
    if not changes:
        return "—"
    return format_html(
        "<ul>{}</ul>",
        format_html_join(
            "",
            "<li><code>{}</code>: {} → {}</li>",
            (
                (name, readable(name, before), readable(name, after))
                for name, (before, after) in changes.items()
            ),
        ),
    )


# --- Worker policy ---------------------------------------------------------------------------
