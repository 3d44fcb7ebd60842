"""The committed zh_Hant catalogue's English entries and the visible text of a page."""

import ast
import re
from pathlib import Path

from django.conf import settings

from tests.i18n.unmarked import visible_pieces

PO = Path(settings.BASE_DIR) / "locale" / "zh_Hant" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%%")


def english_entries() -> list[str]:
    """Every msgid and msgid_plural of the catalogue (the header left out), except those
    whose translation is the same text: a product name ("Slack webhook") reads the same."""
    fields: list[tuple[str, str]] = []
    for line in PO.read_text(encoding="utf-8").splitlines():
        start = re.match(r'^(msgid|msgid_plural|msgstr\S*) (".*")$', line)
        if start:
            fields.append((start.group(1), ast.literal_eval(start.group(2))))
        elif line.startswith('"') and fields:
            fields[-1] = (fields[-1][0], fields[-1][1] + ast.literal_eval(line))
    entries: list[str] = []
    english: list[str] = []
    for field, text in fields:
        if field.startswith("msgid"):
            english.append(text)
        elif english:  # the msgstr closing an entry
            entries += [msgid for msgid in english if msgid and msgid != text]
            english = []
    return entries


def shown_pattern(msgid: str) -> re.Pattern[str] | None:
    """A pattern finding ``msgid`` as a reader would see it (markup stripped, placeholders
    standing for anything); None for entries too short or too common to point at one string:
    a lone word such as "job" is also a column's data."""
    text = re.sub(r"<[^>]+>", "", msgid).replace("&lt;", "<").replace("&gt;", ">")
    words = re.findall(r"[A-Za-z]{2,}", PLACEHOLDER.sub("", text))
    if len(words) < 2:
        return None
    parts = [re.escape(part) for part in PLACEHOLDER.split(text)]
    return re.compile(r"\b" + r".{1,80}?".join(part for part in parts if part.strip()))


def visible_text(html: str) -> str:
    """What a person reads on the page, in one line (``unmarked.visible_pieces``)."""
    return " ".join(visible_pieces(html))


def english_left(html: str, entries: list[str]) -> list[str]:
    """The catalogue's English entries still readable on the page."""
    text = visible_text(html)
    found = []
    for msgid in entries:
        pattern = shown_pattern(msgid)
        if pattern is not None and pattern.search(text):
            found.append(msgid)
    return found
