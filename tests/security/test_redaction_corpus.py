"""config/redaction/ against a corpus (tests/security/redaction_corpus.py): a fake secret of
every shape it knows is masked and its kind named, look-alikes are left alone, and every rule
has a sample of its own."""

import re
import time

import pytest

from core.redaction import RULES, redact, redact_clipped
from tests.security.redaction_corpus import BENIGN, FINDINGS, SAMPLES, Sample


def _survives(secret: str, text: str, size: int = 8) -> bool:
    """Any run of ``size`` characters of the secret is still there (a secret cut short by a
    rule leaks its rest, and that counts as surviving). The markers are not the secret's:
    "[REDACTED:rubygems_token]" shares "rubygems" with the token it replaced."""
    text = re.sub(r"\[REDACTED:\w+\]", "", text)
    pieces = {secret[i : i + size] for i in range(max(len(secret) - size, 0) + 1)}
    return any(piece in text for piece in pieces)


def _name(sample: Sample) -> str:
    return f"{sample.kind}-{sample.text[:20]}"


@pytest.mark.parametrize("sample", SAMPLES, ids=_name)
def test_each_sample_is_masked_and_its_kind_named(sample):
    result = redact(f"before\n{sample.text}\nafter")

    assert not _survives(sample.secret, result.text), result.text
    assert f"[REDACTED:{sample.kind}]" in result.text, result.text
    assert result.count >= 1
    assert result.text.startswith("before\n")
    assert result.text.endswith("\nafter")


@pytest.mark.parametrize("sample", SAMPLES, ids=_name)
def test_redacting_a_sample_twice_changes_nothing_more(sample):
    once = redact(sample.text)

    assert redact(once.text) == type(once)(once.text, 0)


@pytest.mark.parametrize("text", BENIGN)
def test_look_alikes_are_left_alone(text):
    assert redact(text) == type(redact(""))(text, 0)


def test_every_rule_has_a_sample_it_finds():
    """Adding a rule means adding a sample: each rule (not just each kind) must find one."""
    without = [
        (each.kind, each.pattern.pattern[:40])
        for each in RULES
        if not any(
            sample.kind == each.kind
            and each.applies_to(sample.text.lower())
            and each.pattern.search(sample.text)
            for sample in SAMPLES
        )
    ]

    assert without == []


# Issue 12, finding 5: what each example reads like once redacted.
@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("password=a;b", "password=[REDACTED:assigned_secret]"),
        ("password=a,b", "password=[REDACTED:assigned_secret]"),
        ("postgres://u:p@ss@host/db", "postgres://u:[REDACTED:url_password]@host/db"),
        ("curl -u user:pw https://api", "curl -u user:[REDACTED:basic_auth] https://api"),
        ("run --password X", "run --password [REDACTED:cli_secret]"),
        ("run --password=X", "run --password=[REDACTED:cli_secret]"),
        ("Cookie: sid=abc; csrftoken=def", "Cookie: [REDACTED:cookie]"),
        ("GPG_PASSPHRASE=correct horse", "GPG_PASSPHRASE=[REDACTED:assigned_secret] horse"),
        (
            "aws configure set aws_secret_access_key wJalrXUtnFEMIK7MDENGbPxRfiCY",
            "aws configure set aws_secret_access_key [REDACTED:aws_secret_key]",
        ),
        (
            "aws iam x --secret-access-key wJalrXUtnFEMIK7MDENGbPxRfiCY --region y",
            "aws iam x --secret-access-key [REDACTED:aws_secret_key] --region y",
        ),
        (
            "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=bm90LWEta2V5LWF0LWFsbA==;"
            "EndpointSuffix=core.windows.net",
            "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=[REDACTED:azure_storage_key];"
            "EndpointSuffix=core.windows.net",
        ),
        ("token eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0. ok", "token [REDACTED:jwt] ok"),
    ],
)
def test_finding_five_examples_read_as_redacted(text, redacted):
    assert redact(text).text == redacted


def test_a_quoted_value_runs_to_its_closing_quote_past_separators():
    assert redact("password='a;b, c@d'").text == "password='[REDACTED:assigned_secret]'"


def test_each_finding_is_in_the_corpus_under_its_kind():
    assert {sample.kind for sample in FINDINGS.values()} <= {each.kind for each in RULES}


def test_a_clipped_redaction_never_leaves_part_of_a_secret():
    text = "x " + "password=hunter2 " * 20

    clipped = redact_clipped(text, 50)

    assert len(clipped) == 50
    assert "hunter2" not in clipped


# Text built to make a regular expression backtrack: each took minutes before (a keyword
# repeated in one word was quadratic: 16 KiB of "token" took 1.3 s, 64 KiB 20 s). Worker
# evidence reaches 1 MiB, and redaction runs inside the ingest request.
ADVERSARIAL = {
    "keyword_repeated_in_one_word": "token" * 50_000,
    "password_repeated_in_one_word": "password" * 30_000,
    "pwd_repeated_in_one_word": "pwd" * 80_000,
    "command_repeated_on_one_line": "curl " * 50_000,
    "mysql_repeated_on_one_line": "mysql " * 40_000,
    "login_repeated_on_one_line": "docker login " * 20_000,
    "key_headers_without_end": "-----BEGIN PRIVATE KEY-----\n" * 9_000,
    "assignments_without_values": "password=" * 30_000,
    "headers_without_values": "Authorization: " * 16_000,
    "options_without_values": "--password " * 20_000,
}


@pytest.mark.parametrize("text", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_redaction_stays_linear_on_text_built_to_backtrack(text):
    started = time.process_time()

    redact(text)

    assert time.process_time() - started < 3.0  # about 0.1 s; minutes when quadratic
