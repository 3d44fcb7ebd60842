import logging
import re

import pytest

from core.redaction import RedactingFilter, redact
from repairs.evidence import clean_evidence, truncate_middle
from repairs.models import RepairEvent
from tests.factories import event_body

EVENTS = "/api/v1/worker-repair-events"

# Each sample is a secret shape a worker's command output may carry, built at run time so no
# real-looking credential sits in the source.
SECRET_SHAPES = {
    "private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
    "-----END OPENSSH PRIVATE KEY-----",
    "bearer_header": "Authorization: Bearer " + "Ab3" * 10,
    "bearer_bare": "curl -H 'x: Bearer " + "Zq9" * 10 + "'",
    "password_assignment": "DB_PASSWORD=" + "hunter" + "2secret",
    "token_assignment": "token=" + "t0k" * 8,
    "api_key_assignment": "api_key: " + "k3y" * 8,
    "json_secret": '{"client_secret": "' + "s3c" * 8 + '"}',
    "url_credentials": "postgres://app:" + "pa55" * 4 + "@db.internal:5432/app",
    "aws_access_key": "AKIA" + "Z" * 16,
    "github_token": "ghp_" + "a1B2" * 9,
    "github_pat": "github_pat_" + "x9" * 20,
    "gitlab_token": "glpat-" + "Q" * 20,
    "slack_token": "xoxb-" + "1234567890-" + "abc" * 6,
    "slack_webhook": "https://hooks.slack.com/services/T000/B000/" + "X" * 24,
    "discord_webhook": "https://discord.com/api/webhooks/123456/" + "y" * 40,
    "openai_key": "sk-proj-" + "p" * 40,
    "anthropic_key": "sk-ant-api03-" + "q" * 40,
    "stripe_key": "sk_live_" + "r" * 24,
    "google_api_key": "AIza" + "g" * 35,
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0." + "s" * 20,
    "telegram_bot_token": "123456789:AA" + "h" * 33,
    "pls_token": "pls_" + "w" * 43,
}


@pytest.mark.parametrize(("shape", "sample"), SECRET_SHAPES.items(), ids=SECRET_SHAPES.keys())
def test_each_secret_shape_is_redacted(shape, sample):
    secret_part = sample.split("=")[-1].split(": ")[-1]
    text = f"before\n{sample}\nafter"

    result = redact(text)

    assert result.count >= 1
    assert "[REDACTED:" in result.text
    assert secret_part not in result.text
    assert result.text.startswith("before\n")
    assert result.text.endswith("\nafter")


def test_ordinary_output_is_left_alone():
    text = "pytest: 3 failed, 120 passed in 4.2s\nerror: could not fetch context for JOB-42"

    assert redact(text).text == text
    assert redact(text).count == 0


def test_redaction_happens_before_storage(worker_client):
    secret = "ghp_" + "Sx7" * 12
    worker_client.post(
        EVENTS,
        event_body(message=f"push failed token={secret}", evidence=f"remote: {secret}"),
        format="json",
    )

    event = RepairEvent.objects.get()
    assert secret not in event.evidence
    assert secret not in event.message
    assert event.redactions == 1


def test_log_records_are_redacted(caplog):
    secret = "sk-ant-" + "L" * 40
    logger = logging.getLogger("tests.redaction")
    logger.addFilter(RedactingFilter())

    with caplog.at_level(logging.INFO, logger="tests.redaction"):
        logger.info("worker said %s", f"key is {secret}")

    assert secret not in caplog.text
    assert "[REDACTED:" in caplog.text


def test_short_evidence_is_kept_whole():
    assert truncate_middle("short", 100) == ("short", 0)


def test_long_evidence_keeps_head_and_tail_and_says_what_was_cut():
    text = "HEAD" + "x" * 200_000 + "TAIL"

    kept, cut = truncate_middle(text, 64 * 1024)

    assert len(kept.encode()) <= 64 * 1024
    assert kept.startswith("HEAD")
    assert kept.endswith("TAIL")
    marker = re.search(r"\n\n… \[(\d+) bytes cut[^\]]*\] …\n\n", kept)
    assert marker is not None
    kept_bytes = len(kept.encode()) - len(marker.group(0).encode())
    assert int(marker.group(1)) == cut == len(text.encode()) - kept_bytes


def test_truncation_never_splits_a_multibyte_character_into_garbage():
    kept, _ = truncate_middle("é" * 100_000, 1000)

    kept.encode("utf-8")  # would raise on a lone surrogate
    assert "\ufffd" not in kept


def test_a_secret_across_the_cut_is_redacted_first():
    secret = "AKIA" + "Q" * 16
    text = "a" * 40_000 + f" key {secret} in the middle " + "b" * 40_000

    cleaned = clean_evidence(text, 64 * 1024)

    assert "AKIA" not in cleaned.text
    assert cleaned.redactions == 1


def test_stored_evidence_over_64_kib_is_truncated(worker_client):
    response = worker_client.post(
        EVENTS, event_body(evidence="start\n" + "line\n" * 30_000 + "end"), format="json"
    )

    event = RepairEvent.objects.get()
    assert len(event.evidence.encode()) <= 64 * 1024
    assert event.evidence.startswith("start\n")
    assert event.evidence.endswith("end")
    assert response.json()["evidence_cut_bytes"] == event.evidence_cut_bytes > 0


def test_bodies_over_one_mib_get_413(worker_client):
    response = worker_client.post(
        EVENTS, event_body(evidence="x" * (1024 * 1024 + 1)), format="json"
    )

    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert not RepairEvent.objects.exists()
