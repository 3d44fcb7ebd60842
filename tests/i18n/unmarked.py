"""English a person can read on a page or in a message, whether or not it was ever marked.

``test_every_page_in_chinese`` looks for the catalogue's own msgids, so a string nobody
marked is invisible to it. This module reads what is shown instead: the text of a page
(text nodes, and the attributes a person reads or hears: placeholder, aria-label, title,
alt, a submit button's value), each piece on its own, and finds the runs of English words
in it: two or more plain words in a row, or one word of four letters or more.

What is not prose is left out: scripts and styles, ``code``/``pre``/``textarea`` (what a
person typed or a machine wrote), elements marked ``translate="no"`` (the console puts it
on cells that show codes and data) or written in another language on purpose (``lang="en"``:
the language switch names English in English), and any token that is code-like (it has a digit, an
underscore, a dot, a slash, an @: ``job-17``, ``stuck_claim``, ``Asia/Taipei``, a URL, a
fingerprint) or quoted as a literal (``'none'``). The names below read the same in Chinese
and are let through.
"""

import json
import re
from html.parser import HTMLParser

# Product, protocol and format names and the codes the console shows as codes: the same
# words in a Chinese sentence ("以 JSON 匯出", "LINE 頻道"). Short on purpose: every entry
# is a word that would be wrong to translate.
ALLOWED = frozenset(
    {
        # the product and the chat apps and providers its channels deliver to
        "PLS",
        "LINE",
        "Telegram",
        "Slack",
        "Discord",
        "Codex",
        "Claude",
        "OpenAI",
        "Anthropic",
        "GitHub",
        "Sentry",
        "Prometheus",
        "Celery",
        "Redis",
        "PostgreSQL",
        "SQLite",
        "Django",
        "Axes",  # django-axes, the login guard
        # protocols and formats
        "API",
        "URL",
        "JSON",
        "CSV",
        "NDJSON",
        "HTTP",
        "HTTPS",
        "HMAC",
        "POST",
        "IANA",  # the time zone database ("IANA 時區")
        "Markdown",
        "glob",  # the pattern syntax ("glob 樣式")
        "MCP",
        "SHA",
        "CI",
        "ID",
        "OK",
        "UTC",
        "Asia",
        "Taipei",
        "Webhook",
        "webhook",
        # the policy's action codes, shown as codes: a worker sends them, the policy's JSON
        # and its help texts name them ("動作：release, reclaim, …")
        "release",
        "reclaim",
        "retry",
        "touch",
        "diagnose",
        "propose",
        # the role (auth group) the workers sign in with, a code like pls_owner
        "worker",
        # codes a person types or reads as they are
        "zh-hant",
        "zh-Hant",
        "X-PLS-Signature",
        "webhook-id",  # the Standard Webhooks headers
        "webhook-timestamp",
        "webhook-signature",
    }
)

# Names of more than one word, read as they are: products, and what the providers' consoles
# call the credentials a channel needs (the owner looks them up there, in English).
ALLOWED_NAMES = (
    "Claude Code",
    "LINE Messaging API",
    "Standard Webhooks",
    "channel access token",
    "channel secret",
    "signing secret",
    "secret token",
    "General Information",
    # the README's section a help text points to, by its heading (the README is English)
    "Approving from chat",
)

# Elements whose text is not prose for a person to read.
_SKIPPED = {"script", "style", "code", "pre", "textarea", "template", "noscript"}
_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}
# Django's admin draws a boolean as an icon whose alt is "True", "False" or "None" with no
# way to translate it (django.contrib.admin.templatetags.admin_list._boolean_icon): the
# icon itself (a tick, a cross) is what a person reads.
_BOOLEAN_ICON = re.compile(r"/admin/img/icon-(yes|no|unknown)(\.[0-9a-f]+)?\.svg$")
_READ_ATTRIBUTES = {"placeholder", "aria-label", "title", "alt"}
_BUTTON_TYPES = {"submit", "button", "reset"}

# A token: what lies between spaces, its surrounding punctuation stripped.
_EDGE = "\"'()[]{}<>«»“”‘’,;:.!?…·•*|—–-"
_WORD = re.compile(r"[A-Za-z]+(?:['’][a-z]+)?(?:-[A-Za-z]+)*")


class _Pieces(HTMLParser):
    """The visible pieces of a page, each text node and read attribute on its own."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self.skip_tag = ""
        self.skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if self.skip_tag:
            if tag == self.skip_tag:
                self.skip_depth += 1
            return
        other_language = (attributes.get("lang") or "zh").lower()[:2] != "zh"
        if tag not in _VOID and (
            tag in _SKIPPED or attributes.get("translate") == "no" or other_language
        ):
            self.skip_tag, self.skip_depth = tag, 1
            return
        if tag == "input" and attributes.get("type") == "hidden":
            return
        if tag == "img" and _BOOLEAN_ICON.search(attributes.get("src") or ""):
            return  # Django writes a yes/no icon's alt as the Python value (admin_list)
        for name, value in attrs:
            if value and name in _READ_ATTRIBUTES:
                self.pieces.append(value)
        if tag == "input" and attributes.get("type") in _BUTTON_TYPES and attributes.get("value"):
            self.pieces.append(attributes["value"] or "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if self.skip_tag and tag == self.skip_tag:
            self.skip_depth -= 1
            if not self.skip_depth:
                self.skip_tag = ""

    def handle_data(self, data: str) -> None:
        if not self.skip_tag and data.strip():
            self.pieces.append(data)


def visible_pieces(html: str) -> list[str]:
    parser = _Pieces()
    parser.feed(html)
    parser.close()
    return [" ".join(piece.split()) for piece in parser.pieces]


def _english_word(token: str) -> str | None:
    """The token as an English word, or None when it is not one (code-like, Chinese,
    a number, an allowed name)."""
    if re.fullmatch(r"(['\"])[^'\"]+\1[,.;:)]?", token):
        return None  # a quoted literal: 'none', "true"
    word = token.strip(_EDGE)
    if not word or not _WORD.fullmatch(word) or word in ALLOWED:
        return None
    return word


def english_runs(text: str) -> list[str]:
    """The runs of English words in ``text``: two or more in a row, or one of four letters
    or more."""
    runs: list[str] = []
    run: list[str] = []  # the words
    shown: list[str] = []  # as they read, with their punctuation
    for name in ALLOWED_NAMES:
        text = text.replace(name, " · ")

    def close() -> None:
        letters = sum(len(re.sub(r"[^A-Za-z]", "", word)) for word in run)
        if len(run) >= 2 or letters >= 4:
            runs.append(" ".join(shown))
        run.clear()
        shown.clear()

    for token in text.split():
        word = _english_word(token)
        if word is None:
            close()
        else:
            run.append(word)
            shown.append(token)
    close()
    return runs


def _json_document(piece: str) -> bool:
    if not piece.startswith(("[", "{")):
        return False
    try:
        json.loads(piece)
    except ValueError:
        return False
    return True


def unmarked_english(html: str) -> list[str]:
    """Every run of English words a person can read on the page, in order, once each."""
    found: list[str] = []
    for piece in visible_pieces(html):
        if _json_document(piece):
            continue  # a read-only JSON field's value: data a person or a machine wrote
        for run in english_runs(piece):
            if run not in found:
                found.append(run)
    return found
