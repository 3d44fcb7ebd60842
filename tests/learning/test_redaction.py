"""Lessons come from workers' text: secrets in them are redacted before they are stored, so
neither the console, the prompt pack nor the digest ever shows one."""

import pytest

from learning.models import LearningMemoryUpdate
from tests.factories import event_body
from tests.learning.conftest import EVENTS, PACK, UPDATES, lesson_body

pytestmark = pytest.mark.django_db

GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


def test_a_secret_in_the_lesson_or_fix_is_redacted_before_it_is_stored(worker_client):
    response = worker_client.post(
        UPDATES,
        lesson_body(
            lesson=f"Clone with GITHUB_TOKEN={GITHUB_TOKEN} when the mirror is down.",
            fix=f"git clone https://bot:{GITHUB_TOKEN}@github.com/org/repo",
        ),
        format="json",
    )

    stored = LearningMemoryUpdate.objects.get()
    assert GITHUB_TOKEN not in stored.lesson + stored.fix
    assert "[REDACTED:github_token]" in stored.lesson
    assert "[REDACTED" in stored.fix
    assert GITHUB_TOKEN not in response.content.decode()


def test_the_same_lesson_with_different_secrets_is_one_lesson(worker_client):
    for secret in ("hunter2-first", "correct-horse-second"):
        worker_client.post(
            UPDATES, lesson_body(lesson=f"Log in with password={secret} then retry."), format="json"
        )

    assert LearningMemoryUpdate.objects.get().occurrences == 2


def test_a_lesson_given_with_an_outcome_is_redacted_too(worker_client):
    event = worker_client.post(EVENTS, event_body(), format="json").json()

    worker_client.post(
        f"{EVENTS}/{event['id']}/outcome",
        {"outcome": "resolved", "lesson": f"Use Authorization: Bearer {GITHUB_TOKEN} to fetch."},
        format="json",
    )

    assert GITHUB_TOKEN not in LearningMemoryUpdate.objects.get().lesson


def test_a_reviewers_edit_is_redacted_and_the_pack_never_shows_a_secret(
    worker_client, session_client, owner
):
    update = worker_client.post(UPDATES, lesson_body(), format="json").json()
    client = session_client(owner)
    client.patch(
        f"{UPDATES}/{update['id']}",
        {"lesson": f"Export api_key={GITHUB_TOKEN} first."},
        format="json",
    )
    client.post(f"{UPDATES}/{update['id']}/accept")

    pack = worker_client.get(PACK).content.decode()

    assert GITHUB_TOKEN not in pack
    assert "api_key=[REDACTED:github_token]" in pack or "[REDACTED" in pack
