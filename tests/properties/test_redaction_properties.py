"""Properties of redact() (config/redaction/): every secret shape it knows, generated and
embedded in random text, never survives; text without secrets comes out unchanged.

Besides the shapes generated here, every sample of the corpus (one or more per rule, in
tests/security/redaction_corpus.py) is embedded in random text."""

import json
import re
import string

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from core.redaction import redact
from tests.security.redaction_corpus import BENIGN as BENIGN_LINES
from tests.security.redaction_corpus import SAMPLES, Sample

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, derandomize=True, database=None)


def _regex(pattern: str) -> st.SearchStrategy[str]:
    return st.from_regex(pattern, fullmatch=True)


B64URL = "[A-Za-z0-9_-]"
TOKEN68 = "[A-Za-z0-9._~+/-]"

# Shapes recognised whole: the whole token is the secret.
WHOLE_SHAPES = {
    "jwt": _regex(rf"eyJ{B64URL}{{8,40}}\.eyJ{B64URL}{{8,60}}\.{B64URL}{{8,60}}"),
    "aws_access_key": _regex(r"(AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}"),
    "github_token": _regex(r"gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82}"),
    "gitlab_token": _regex(rf"glpat-{B64URL}{{20,30}}"),
    "slack_token": _regex(r"xox[abposr]-[0-9]{10,13}-[A-Za-z0-9-]{10,40}"),
    "slack_webhook": _regex(
        r"https://hooks\.slack\.com/services/T[A-Z0-9]{8}/B[A-Z0-9]{8}/[A-Za-z0-9]{24}"
    ),
    "discord_webhook": _regex(
        rf"https://(ptb\.|canary\.)?discord(app)?\.com/api/webhooks/[0-9]{{17,20}}/{B64URL}{{60,68}}"
    ),
    "stripe_key": _regex(r"(sk|rk|pk)_(live|test)_[A-Za-z0-9]{24,99}"),
    "openai_key": _regex(rf"sk-(proj-)?{B64URL}{{20,80}}"),
    "anthropic_key": _regex(rf"sk-ant-(api|admin)0[0-9]-{B64URL}{{20,95}}"),
    "google_api_key": _regex(rf"AIza{B64URL}{{35}}"),
    "telegram_bot_token": _regex(rf"[1-9][0-9]{{7,9}}:AA{B64URL}{{33}}"),
    "sendgrid_key": _regex(rf"SG\.{B64URL}{{22}}\.{B64URL}{{43}}"),
    "npm_token": _regex(r"npm_[A-Za-z0-9]{36}"),
    "huggingface_token": _regex(r"hf_[A-Za-z0-9]{34}"),
    "pls_token": _regex(rf"pls_{B64URL}{{43}}"),
}


@st.composite
def private_key(draw) -> tuple[str, str]:
    kind = draw(st.sampled_from(["", "RSA ", "EC ", "DSA ", "OPENSSH ", "ENCRYPTED ", "PGP "]))
    block = " BLOCK" if kind == "PGP " else ""
    body = "\n".join(draw(st.lists(_regex(r"[A-Za-z0-9+/]{16,64}={0,2}"), min_size=1)))
    end = draw(st.booleans())  # evidence is often cut before the END line
    text = f"-----BEGIN {kind}PRIVATE KEY{block}-----\n{body}\n"
    if end:
        text += f"-----END {kind}PRIVATE KEY{block}-----"
    return text, body


@st.composite
def authorization_header(draw) -> tuple[str, str]:
    # Any scheme: Bearer, Basic and Token, but also Discord's "Bot", Okta's "SSWS", "ApiKey".
    scheme = draw(
        st.one_of(
            st.sampled_from(["Bearer", "Basic", "Token", "Digest", "Bot", "SSWS", "ApiKey"]),
            _regex(r"[A-Z][A-Za-z]{1,10}"),
        )
    )
    name = draw(st.sampled_from(["Authorization", "authorization", "AUTHORIZATION"]))
    token = draw(_regex(rf"{TOKEN68}{{12,60}}"))
    # A header line, or a header in a dict or JSON ({'Authorization': 'Basic …'}).
    quote = draw(st.sampled_from(["", "'", '"']))
    separator = draw(st.sampled_from([": ", ":", "=", " = "])) if not quote else ": "
    return f"{quote}{name}{quote}{separator}{quote}{scheme} {token}{quote}", token


@st.composite
def bearer(draw) -> tuple[str, str]:
    token = draw(_regex(rf"[A-Za-z0-9]{TOKEN68}{{11,60}}=*"))
    return f"{draw(st.sampled_from(['Bearer', 'bearer', 'BEARER']))} {token}", token


# Printable, without whitespace and quotes, which end an unquoted value (";", ",", "&", "@"
# do not: a password may hold them). Without "\\" and "[" too: an escape or a marker's
# bracket would make the generated value mean something else.
UNQUOTED = "".join(c for c in string.printable if c not in string.whitespace + "\"'\\[")
KEY_NAMES = [
    "password", "PASSWORD", "db_password", "DB_PASSWORD", "passwd", "pwd", "secret",
    "client_secret", "AWS_SECRET_ACCESS_KEY", "token", "access_token", "X-Auth-Token",
    "api_key", "api-key", "apikey", "x-api-key", "access_key", "private_key", "credentials",
    "credential", "github.token",
]  # fmt: skip


@st.composite
def assignment(draw) -> tuple[str, str]:
    key = draw(st.sampled_from(KEY_NAMES))
    style = draw(st.sampled_from(["env", "yaml", "json", "single", "double"]))
    if style == "json":
        value = draw(
            st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=8)
        )
        return json.dumps({key: value}), json.dumps(value)[1:-1]
    if style in ("single", "double"):
        quote = "'" if style == "single" else '"'
        value = draw(st.text(alphabet=UNQUOTED + " ", min_size=8).filter(str.strip))
        return f"{key}={quote}{value}{quote}", value
    value = draw(st.text(alphabet=UNQUOTED, min_size=8))
    return f"{key}{'=' if style == 'env' else ': '}{value}", value


@st.composite
def url_credentials(draw) -> tuple[str, str]:
    scheme = draw(st.sampled_from(["postgres", "postgresql", "redis", "rediss", "amqp",
                                   "mongodb+srv", "https", "smtp+tls", "ftp"]))  # fmt: skip
    # Redis URLs have no user: redis://:password@host.
    user = draw(_regex(r"[A-Za-z0-9._~-]{0,12}"))
    # "@", ";" and "," included: postgres://u:p@ss@host is a password with an "@".
    password = draw(_regex(r"([A-Za-z0-9._~!$*+=@;,-]|%[0-9A-F]{2}){8,40}"))
    host = draw(_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z]{2,6})?(:[0-9]{2,5})?"))
    return f"{scheme}://{user}:{password}@{host}/db", password


CORPUS = st.sampled_from(SAMPLES).map(lambda sample: (sample.text, sample.secret))

SECRETS = st.one_of(
    *[shape.map(lambda token: (token, token)) for shape in WHOLE_SHAPES.values()],
    CORPUS,
    private_key(),
    authorization_header(),
    bearer(),
    assignment(),
    url_credentials(),
)
# Surrounding text: anything printable; the secret stands apart from it as it would in
# output (whitespace, a quote, a bracket, an "=").
SURROUNDING = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=80)
APART = st.sampled_from([" ", "\n", "\t", "\r\n", ' "', '"', "'", "(", "[", "=", ": ", ", "])


def _pieces(secret: str, size: int = 8) -> set[str]:
    """Every run of ``size`` characters of the secret: a secret cut short by the pattern
    leaks its rest, and that counts as surviving."""
    return {secret[i : i + size] for i in range(max(len(secret) - size, 0) + 1)}


def _survives(secret: str, text: str) -> bool:
    # The markers are ours: "[REDACTED:rubygems_token]" shares "rubygems" with its token.
    text = re.sub(r"\[REDACTED:\w+\]", "", text)
    return any(piece in text for piece in _pieces(secret))


def _apart_from(secret: str, *context: str) -> bool:
    """The secret shares no piece with the text around it (else a piece found in the
    output proves nothing)."""
    return not any(_survives(secret, part) for part in context)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda sample: sample.kind)
@settings(max_examples=15, deadline=None, derandomize=True, database=None)
@given(before=SURROUNDING, opening=APART, closing=APART, after=SURROUNDING)
def test_every_corpus_sample_is_masked_in_any_text(sample: Sample, before, opening, closing, after):
    assume(_apart_from(sample.secret, before, opening, closing, after))
    assume(_apart_from(sample.secret, sample.text.replace(sample.secret, " ")))

    result = redact(before + opening + sample.text + closing + after)

    # Only that it is gone: the text around may make it part of a larger secret
    # ("TOKEN=" before a DSN), named for that one. tests/security checks each kind's name.
    assert not _survives(sample.secret, result.text), result.text
    assert result.count >= 1


@PROPERTY_SETTINGS
@given(SURROUNDING, APART, SECRETS, APART, SURROUNDING)
def test_no_generated_secret_survives(before, opening, secret, closing, after):
    text, value = secret
    assume(_apart_from(value, before, opening, closing, after, text.replace(value, " ")))

    result = redact(before + opening + text + closing + after)

    assert not _survives(value, result.text), result.text
    assert result.count >= 1


# Values with quotes and backslashes, escaped as JSON, a shell or Python would escape them.
TRICKY_VALUE = st.text(alphabet=string.ascii_letters + string.digits + "\"'\\ =:&,;", min_size=8)


@st.composite
def escaped_assignment(draw) -> tuple[str, str]:
    key = draw(st.sampled_from(KEY_NAMES))
    value = draw(TRICKY_VALUE)
    style = draw(st.sampled_from(["json", "double", "single"]))
    if style == "json":
        text = json.dumps({key: value})
        return text, json.dumps(value)[1:-1]
    quote = '"' if style == "double" else "'"
    escaped = value.replace("\\", "\\\\").replace(quote, "\\" + quote)
    return f"{key}={quote}{escaped}{quote}", escaped


@PROPERTY_SETTINGS
@given(SURROUNDING, escaped_assignment(), SURROUNDING)
def test_no_quoted_secret_survives_its_escaped_quotes(before, secret, after):
    text, value = secret
    assume(_apart_from(value, before, after, text.replace(value, " ")))

    result = redact(before + "\n" + text + "\n" + after)

    assert not _survives(value, result.text), result.text


@PROPERTY_SETTINGS
@given(st.lists(st.tuples(SURROUNDING, APART, SECRETS), min_size=2, max_size=6), SURROUNDING)
def test_no_secret_survives_among_others(parts, tail):
    text = "".join(before + apart + secret + "\n" for before, apart, (secret, _) in parts) + tail
    values = [value for _, _, (_, value) in parts]
    context = [before for before, _, _ in parts] + [tail]
    context += [secret.replace(value, " ") for _, _, (secret, value) in parts]
    assume(all(_apart_from(value, *context) for value in values))

    result = redact(text)

    for value in values:
        assert not _survives(value, result.text), (value, result.text)


# Command output without credentials: words, numbers, paths, URLs without a password,
# status lines. No key=value pairs with secret-like keys.
BENIGN_PART = st.one_of(
    _regex(r"[A-Za-z]{1,12}"),
    st.integers(-(10**9), 10**9).map(str),
    _regex(r"(/[a-z0-9._-]{1,12}){1,4}"),
    _regex(r"https?://[a-z]{1,10}\.(com|dev|internal)(:[0-9]{2,5})?(/[a-z0-9]{1,8}){0,3}"),
    st.sampled_from(
        [
            "HTTP/1.1 503 Service Unavailable",
            "exit status 1",
            "Traceback:",
            "FAILED tests/test_x.py::test_y",
            "npm ERR! code E404",
            "user=bob",
            "retry=2",
            "--verbose",
            "deadline exceeded",
            "tokenizers loaded",
        ]
    ),
)
BENIGN = st.lists(st.tuples(BENIGN_PART, st.sampled_from([" ", "\n", ", ", "; ", " - "])))


@PROPERTY_SETTINGS
@given(st.lists(st.sampled_from(BENIGN_LINES), min_size=1))
def test_look_alike_lines_are_unchanged(lines):
    text = "\n".join(lines)

    assert redact(text) == redact(text).__class__(text, 0)


@PROPERTY_SETTINGS
@given(BENIGN)
def test_text_without_secrets_is_unchanged(parts):
    text = "".join(part + apart for part, apart in parts)

    result = redact(text)

    assert result.text == text
    assert result.count == 0


@PROPERTY_SETTINGS
@given(SURROUNDING, APART, SECRETS, SURROUNDING)
def test_redacting_twice_changes_nothing_more(before, apart, secret, after):
    once = redact(before + apart + secret[0] + " " + after)

    twice = redact(once.text)

    assert twice.text == once.text
    assert twice.count == 0


# What the properties found, one example each (each failed before its fix).
FOUND = {
    "authorization_bot_scheme": (
        "Authorization: Bot MTk4NjIyNDgzNDcxOTI1.Cl2FMQ.ZnCjm1XVW",
        "MTk4",
    ),
    "authorization_in_json": ('{"Authorization": "Basic dXNlcjpwYXNzd29yZA=="}', "dXNlcjpw"),
    "url_without_user": ("REDIS_URL=redis://:s3cretpass@redis:6379/0", "s3cretpass"),
    "json_escaped_quote": ('{"password": "ab\\"cdefghijkl"}', "cdefghijkl"),
    "shell_escaped_quote": ("password='it\\'s-a-secret-value'", "secret-value"),
}


def test_each_secret_the_properties_found_is_redacted():
    for name, (text, secret) in FOUND.items():
        assert secret not in redact(text).text, name


def test_a_second_pass_leaves_a_redacted_text_alone():
    for redacted in (
        "Authorization: Bearer [REDACTED:authorization]",
        '{"password": "[REDACTED:assigned_secret]"}',
    ):
        again = redact(redacted)

        assert (again.text, again.count) == (redacted, 0)
