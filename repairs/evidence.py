"""Evidence hygiene and the fingerprint: what happens to a worker's text before it is stored."""

import hashlib
from dataclasses import dataclass

from core.redaction import redact
from core.text import normalise_message


def fingerprint(error_class: str, message: str) -> str:
    """Stable identity of an error: the same class and message shape give the same hash."""
    key = f"{error_class.strip().lower()}\n{normalise_message(message)}"
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class CleanEvidence:
    text: str
    redactions: int
    cut_bytes: int


def truncate_middle(text: str, limit_bytes: int) -> tuple[str, int]:
    """Keeps the head and tail of ``text`` within ``limit_bytes`` (UTF-8), marking the cut.

    Command output fails at the end and explains itself at the start, so both ends are kept.
    Returns the text and how many bytes were cut.
    """
    data = text.encode()
    if len(data) <= limit_bytes:
        return text, 0
    marker = "\n\n… [{cut} bytes cut from the middle of this evidence] …\n\n"
    keep = max(limit_bytes - len(marker.format(cut=len(data)).encode()), 0)
    head, tail = keep // 2, keep - keep // 2
    cut = len(data) - head - tail
    kept_tail = data[len(data) - tail :] if tail else b""
    return (
        data[:head].decode(errors="ignore")
        + marker.format(cut=cut)
        + kept_tail.decode(errors="ignore"),
        cut,
    )


def clean_evidence(text: str, limit_bytes: int) -> CleanEvidence:
    """Redacts first, so a secret that straddles the cut cannot survive half-masked."""
    redacted = redact(text)
    kept, cut = truncate_middle(redacted.text, limit_bytes)
    return CleanEvidence(kept, redacted.count, cut)
