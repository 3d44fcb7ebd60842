"""What "the same text" means: a worker's message or lesson with what varies between repeats
(ids, hashes, numbers, case, spacing) taken out. The repairs fingerprint and the learning
memory's lesson digest both stand on it, so an error and the lesson it teaches repeat alike."""

import re

# Ids end where letters and digits end: "_" and non-ASCII letters are word characters to
# \b, which made "tmp_3f2a9c1e" keep its id (and a fingerprint per id).
_START, _END = r"(?<![0-9a-z])", r"(?![0-9a-z])"
_UUID = re.compile(_START + r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}" + _END)
_HEX_LITERAL = re.compile(_START + r"0x[0-9a-f]+" + _END)
# Commit hashes, object ids, request ids: a run of hex digits with at least one digit and one
# letter, so that ordinary words ("deadline") and plain numbers are left to the other rules.
_HEX_ID = re.compile(_START + r"(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,}" + _END)
_NUMBER = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")


def normalise_message(message: str) -> str:
    """The message with what varies between repeats of one error (ids, numbers) taken out."""
    text = message.lower()
    text = _UUID.sub("<uuid>", text)
    text = _HEX_LITERAL.sub("<hex>", text)
    text = _HEX_ID.sub("<hex>", text)
    text = _NUMBER.sub("<n>", text)
    return _SPACE.sub(" ", text).strip()
