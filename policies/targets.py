"""What a target is called, every way (issue 12): the forms a protected pattern is matched
against. Pure: no settings, no database.

The same database hides behind many spellings (``orders_db``, ``orders-db.internal:5432``,
``postgres://app@orders-db/app``, ``orders-db/replica``); a glob matched against the raw text
misses all of them. A target is protected when any of its forms matches, so adding forms
only ever protects more.
"""

import re
import unicodedata
from fnmatch import fnmatchcase, translate
from functools import lru_cache
from urllib.parse import unquote

# Several names in one target ("cache-7,orders-db"), or a Windows path: each part is a name.
_LIST_SEPARATORS = re.compile(r"[\s,;|\\]+")
_QUERY_OR_FRAGMENT = re.compile(r"[?#]")
# Printable ASCII but "%": no percent-decoding, folding or invisible characters to handle.
_PLAIN = re.compile(r"[\x20-\x24\x26-\x7e]*")
# A percent-encoded name may be encoded twice; a third pass finds nothing new in practice.
_UNQUOTE_PASSES = 3


def canonical(text: str) -> str:
    """One spelling of ``text``: percent-decoded, compatibility characters folded (fullwidth
    letters), invisible format and control characters dropped, case folded, ``_`` read as
    ``-``, and surrounding space trimmed."""
    if _PLAIN.fullmatch(text):
        # Printable ASCII without "%", as nearly every name is: nothing to decode or fold.
        return text.lower().replace("_", "-").strip()
    for _ in range(_UNQUOTE_PASSES):
        decoded = unquote(text, errors="replace")
        if decoded == text:
            break
        text = decoded
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cc", "Cs"))
    return text.casefold().replace("_", "-").strip()


@lru_cache(maxsize=4096)
def target_forms(target: str) -> frozenset[str]:
    """Every form of ``target`` a protected pattern is matched against: the whole (in its
    canonical spelling); each name it lists; for a URL, its host; for a host, the host
    without its port and each of its dot-separated labels (so the name without its domain
    suffix); and each path segment, read the same way."""
    whole = canonical(target)
    forms = {whole}
    for name in _LIST_SEPARATORS.split(whole):
        forms.add(name)
        _scheme, has_scheme, rest = name.partition("://")
        if not has_scheme:
            rest = name
        rest = _QUERY_OR_FRAGMENT.split(rest, maxsplit=1)[0]
        for segment in rest.split("/"):
            forms |= _host_forms(segment)
    forms.discard("")
    return frozenset(forms)


def _host_forms(piece: str) -> set[str]:
    """``piece`` as written, without user info, without its port, and each of its labels."""
    host = piece.rpartition("@")[2]
    # "[orders-db]:5432", as an IPv6 address is written, or "orders-db:5432".
    bare = host[1:].partition("]")[0] if host.startswith("[") else host.partition(":")[0]
    return {piece, host, bare, *bare.split(".")}


@lru_cache(maxsize=256)
def _glob(pattern: str) -> str:
    return canonical(pattern)


@lru_cache(maxsize=64)
def _any_of(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One expression matching what any of ``patterns`` matches: the verdict on every
    reported action asks this, and one match per form is much cheaper than one per pattern."""
    return re.compile("|".join(translate(_glob(pattern)) for pattern in patterns) or "(?!)")


def matching_pattern(target: str, patterns: list[str]) -> str | None:
    """The first of ``patterns`` (globs, read in the same canonical spelling) that matches
    any form of ``target``, as written in ``patterns``; None when none does."""
    forms = target_forms(target)
    if not any(_any_of(tuple(patterns)).match(form) for form in forms):
        return None
    for pattern in patterns:
        glob = _glob(pattern)
        if any(fnmatchcase(form, glob) for form in forms):
            return pattern
    return None  # unreachable: the expression matched one of them
