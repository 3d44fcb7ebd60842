"""Secrets are cut out of worker evidence before it is stored, shown or logged.

Workers paste raw command output; it often carries credentials. Each pattern below names
the kind of secret it found so an operator can see *that* something was redacted and what
kind, never the value.
"""

import logging
import re
from dataclasses import dataclass

# Also behind an opening quote: a second pass over '"password": "[REDACTED:…]"' counted it.
_NOT_YET_REDACTED = r"(?![\"']?\[REDACTED)"


@dataclass(frozen=True)
class Redacted:
    text: str
    count: int


def _mask(kind: str) -> str:
    return f"[REDACTED:{kind}]"


# Whole-match secrets: the match is replaced by a marker naming its kind.
_SHAPES: list[tuple[str, re.Pattern[str]]] = [
    (
        "private_key",
        re.compile(
            r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----.*?"
            r"(?:-----END[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|\Z)",
            re.DOTALL,
        ),
    ),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("aws_access_key", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b")),
    ("github_token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})")),
    ("gitlab_token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    ("slack_token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    (
        "webhook_url",
        re.compile(
            r"https://(?:hooks\.slack\.com/services|(?:ptb\.|canary\.)?discord(?:app)?\.com"
            r"/api/webhooks)/[A-Za-z0-9/_-]+"
        ),
    ),
    ("stripe_key", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}")),
    ("openai_or_anthropic_key", re.compile(r"\bsk-[A-Za-z0-9_-]{20,}")),
    ("google_api_key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    ("telegram_bot_token", re.compile(r"\b\d{8,10}:AA[A-Za-z0-9_-]{33}")),
    ("sendgrid_key", re.compile(r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}")),
    ("npm_token", re.compile(r"\bnpm_[A-Za-z0-9]{36}")),
    ("huggingface_token", re.compile(r"\bhf_[A-Za-z0-9]{30,}")),
    ("pls_token", re.compile(r"\bpls_[A-Za-z0-9_-]{20,}")),
]

# Secrets recognised by what stands before them: the prefix is kept, the value masked.
# The user may be empty: redis://:password@host is how Redis URLs carry a password.
_URL_CREDENTIALS = re.compile(
    r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*:)" + _NOT_YET_REDACTED + r"([^/\s@]+)@"
)
# Also quoted, as in a dict or JSON ('Authorization': 'Basic …'). The scheme is possessive:
# backtracking past it made a second pass redact the word "Bearer" itself.
_AUTH_HEADER = re.compile(
    r"(?i)\b(authorization[\"']?\s*[:=]\s*[\"']?(?:(?:bearer|basic|token|digest)\s*)?+)"
    + _NOT_YET_REDACTED
    + r"([^\s\"',;]+)"
)
# Any other scheme (Discord's "Bot", Okta's "SSWS", "ApiKey", …) is masked with its value,
# which had survived; "Authorization: <raw token> <next word>" loses the next word too.
_AUTH_OTHER_SCHEME = re.compile(
    r"(?i)\b(authorization[\"']?\s*[:=]\s*[\"']?)"
    + _NOT_YET_REDACTED
    + r"(?!(?:bearer|basic|token|digest)\b)([a-z][\w.+/~-]*[ \t]+[^\s\"',;]+)"
)
_BEARER = re.compile(r"(?i)\b(bearer\s+)" + _NOT_YET_REDACTED + r"([A-Za-z0-9._~+/-]{8,}=*)")
_ASSIGNMENT = re.compile(
    r"(?i)\b([\w.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key"
    r"|private[_-]?key|credentials?)[\w.-]*[\"']?\s*[:=]\s*)"
    + _NOT_YET_REDACTED
    # A quoted value runs to its closing quote, past escaped ones ("pa\"ss" in JSON).
    + r"(\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'|[^\s,;&\"'}\]]+)"
)


def redact(text: str) -> Redacted:
    """Returns ``text`` with every recognised secret replaced by a marker, and the count."""
    count = 0

    def whole(kind: str):
        def replace(match: re.Match[str]) -> str:
            nonlocal count
            count += 1
            return _mask(kind)

        return replace

    def value(kind: str):
        def replace(match: re.Match[str]) -> str:
            nonlocal count
            count += 1
            secret = match.group(2)
            quote = secret[0] if secret[:1] in "\"'" and secret[-1:] == secret[:1] else ""
            suffix = "@" if kind == "url_password" else ""
            return f"{match.group(1)}{quote}{_mask(kind)}{quote}{suffix}"

        return replace

    for kind, pattern in _SHAPES:
        text = pattern.sub(whole(kind), text)
    text = _URL_CREDENTIALS.sub(value("url_password"), text)
    text = _AUTH_OTHER_SCHEME.sub(value("authorization"), text)
    text = _AUTH_HEADER.sub(value("authorization"), text)
    text = _BEARER.sub(value("bearer_token"), text)
    text = _ASSIGNMENT.sub(value("assigned_secret"), text)
    return Redacted(text, count)


class RedactingFilter(logging.Filter):
    """Logging filter that redacts every record's rendered message before it is emitted."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logged as is rather than dropped
            return True
        cleaned = redact(message).text
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
