"""The prompt pack: a team's accepted lessons and the fleet-wide ones as Markdown, grouped by
error class, most urgent first; served as text/markdown and recorded as an export."""

import hashlib
import re

import pytest
from django.urls import reverse

from learning.models import PromptPackExport
from tests.factories import LearningUpdateFactory
from tests.learning.conftest import PACK

pytestmark = pytest.mark.django_db

PAGE = reverse("admin:learning_learningmemoryupdate_prompt_pack")


@pytest.fixture
def lessons():
    """Accepted lessons of team alpha and of the fleet, and some that must stay out."""
    return {
        "fetch_p2_seen_9": LearningUpdateFactory(
            review="accepted",
            error_class="context_fetch_failed",
            next_round_priority=2,
            occurrences=9,
            lesson="Retry the context fetch once after a pause.",
            fix="sleep 30; retry",
        ),
        "fetch_p2_seen_3": LearningUpdateFactory(
            review="accepted",
            error_class="context_fetch_failed",
            next_round_priority=2,
            occurrences=3,
            lesson="Check the job still exists before fetching its context.",
            fix="",
        ),
        "artifact_p1_fleet": LearningUpdateFactory(
            review="accepted",
            team="",
            error_class="artifact_missing",
            next_round_priority=1,
            occurrences=2,
            lesson="Upload the build output before completing the job.",
            fix="pls upload dist/",
        ),
        "fetch_p4": LearningUpdateFactory(
            review="accepted",
            error_class="context_fetch_failed",
            next_round_priority=4,
            occurrences=50,
            lesson="Report the blocker when the second fetch fails too.",
        ),
        "friction_p3": LearningUpdateFactory(
            review="accepted",
            kind="policy_friction",
            error_class="approval_wait",
            next_round_priority=3,
            lesson="Ask for release approval early; the reviewer answers within hours.",
        ),
        "pending": LearningUpdateFactory(review="pending", lesson="Pending lessons stay out."),
        "retired": LearningUpdateFactory(review="retired", lesson="Retired lessons stay out."),
        "beta": LearningUpdateFactory(
            review="accepted", team="beta", lesson="Team beta's lessons stay out of alpha's."
        ),
    }


def lesson_lines(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("- **")]


def test_the_pack_groups_by_error_class_and_orders_by_priority_then_occurrences(
    worker_client, lessons
):
    markdown = worker_client.get(PACK).content.decode()

    headings = re.findall(r"^## (.+)$", markdown, flags=re.MULTILINE)
    assert headings == ["artifact_missing", "context_fetch_failed", "approval_wait"]
    assert lesson_lines(markdown) == [
        "- **P1 · learned 2x · fleet-wide**: Upload the build output before completing the job.",
        "- **P2 · learned 9x**: Retry the context fetch once after a pause.",
        "- **P2 · learned 3x**: Check the job still exists before fetching its context.",
        "- **P4 · learned 50x**: Report the blocker when the second fetch fails too.",
        "- **P3 · learned 1x · policy friction**: Ask for release approval early; the reviewer "
        "answers within hours.",
    ]
    assert "  - Fix: pls upload dist/" in markdown
    assert "  - Fix: sleep 30; retry" in markdown


def test_the_pack_leaves_out_pending_retired_and_other_teams_lessons(worker_client, lessons):
    markdown = worker_client.get(PACK).content.decode()

    assert "stay out" not in markdown


def test_the_header_says_what_the_pack_is_when_it_was_made_and_from_how_many_lessons(
    worker_client, lessons
):
    markdown = worker_client.get(PACK).content.decode()

    assert markdown.startswith("# Prompt pack: team alpha\n")
    assert re.search(
        r"Generated \d{4}-\d\d-\d\d \d\d:\d\d \([\w/]+\) by the PLS Ops Console from 5 accepted "
        r"lessons of team `alpha` and the whole fleet\.",
        markdown,
    )


@pytest.mark.parametrize("accept", [None, "*/*", "text/markdown", "text/*", "text/markdown; q=0.9"])
def test_the_pack_is_served_as_markdown_to_curl_and_to_markdown_clients(
    worker_client, lessons, accept
):
    headers = {"HTTP_ACCEPT": accept} if accept else {}

    response = worker_client.get(PACK, **headers)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response.content.decode().startswith("# Prompt pack")
    assert response["X-Lesson-Count"] == "5"


def test_a_client_that_only_takes_json_gets_a_406_problem(worker_client, lessons):
    response = worker_client.get(PACK, HTTP_ACCEPT="application/json")

    assert response.status_code == 406
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 406


def test_each_fetch_is_recorded_as_an_export_with_the_digest_of_the_text(
    worker, worker_client, lessons
):
    first = worker_client.get(PACK).content
    worker_client.get(PACK)

    exports = list(PromptPackExport.objects.order_by("pk"))
    assert len(exports) == 2
    assert exports[0].team == "alpha"
    assert exports[0].exported_by == worker.user
    assert exports[0].lesson_count == 5
    assert exports[0].digest == hashlib.sha256(first).hexdigest()


def test_a_worker_fetches_its_own_teams_pack_only(worker_client, lessons):
    own = worker_client.get(PACK, {"team": "alpha"})
    other = worker_client.get(PACK, {"team": "beta"})

    assert own.status_code == 200
    assert other.status_code == 403
    assert other["Content-Type"] == "application/problem+json"
    assert PromptPackExport.objects.count() == 1


def test_a_person_with_the_view_right_fetches_any_teams_pack(session_client, viewer, lessons):
    client = session_client(viewer)

    beta = client.get(PACK, {"team": "beta"}).content.decode()
    fleet = client.get(PACK).content.decode()

    assert "Team beta's lessons stay out of alpha's." in beta
    assert "Upload the build output" in beta  # fleet-wide lessons are in every pack
    assert fleet.startswith("# Prompt pack: the whole fleet")
    assert lesson_lines(fleet) == [
        "- **P1 · learned 2x · fleet-wide**: Upload the build output before completing the job."
    ]
    assert list(PromptPackExport.objects.values_list("team", "exported_by")) == [
        ("", viewer.pk),
        ("beta", viewer.pk),
    ]


def test_an_account_outside_every_role_gets_no_pack(session_client, lessons):
    from tests.factories import UserFactory

    response = session_client(UserFactory()).get(PACK)

    assert response.status_code == 403
    assert not PromptPackExport.objects.exists()


def test_a_bad_team_name_is_a_400(worker_client):
    response = worker_client.get(PACK, {"team": "alpha/../beta"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "#/team"


def test_an_empty_pack_says_so(worker_client):
    markdown = worker_client.get(PACK).content.decode()

    assert "from 0 accepted lessons" in markdown
    assert "No accepted lessons yet." in markdown


def test_a_pack_over_the_limit_keeps_the_most_urgent_and_says_how_many_it_left_out(
    worker_client, settings
):
    settings.PLS_LEARNING_PACK_MAX_LESSONS = 2
    for priority in (5, 1, 3, 2):
        LearningUpdateFactory(review="accepted", next_round_priority=priority)

    response = worker_client.get(PACK)
    markdown = response.content.decode()

    assert [line[:8] for line in lesson_lines(markdown)] == ["- **P1 ·", "- **P2 ·"]
    assert "2 less urgent lessons were left out." in markdown
    assert PromptPackExport.objects.get().lesson_count == 2


def test_a_multi_line_lesson_stays_inside_its_list_item(worker_client):
    LearningUpdateFactory(
        review="accepted", lesson="First line of the lesson.\nSecond line.", fix="a\nb"
    )

    markdown = worker_client.get(PACK).content.decode()

    assert "First line of the lesson.\n  Second line.\n  - Fix: a\n    b\n" in markdown


# --- The console page ---


def test_the_console_shows_a_teams_pack_in_a_pre_with_a_copy_button(client, reviewer, lessons):
    client.force_login(reviewer)

    page = client.get(PAGE, {"team": "alpha"}).content.decode()

    pre = re.search(r'<pre id="prompt-pack"[^>]*>(.*?)</pre>', page, flags=re.DOTALL)
    assert pre is not None
    assert pre.group(1).startswith("# Prompt pack: team alpha")
    assert "Retry the context fetch once after a pause." in pre.group(1)
    assert "stay out" not in pre.group(1)
    # The button only appears when the script runs; without it the text is still there.
    assert 'id="copy-prompt-pack" class="button" hidden' in page
    assert "navigator.clipboard.writeText" in page
    export = PromptPackExport.objects.get()
    assert (export.team, export.exported_by, export.lesson_count) == ("alpha", reviewer, 5)


def test_the_console_page_lists_the_teams_before_one_is_chosen(client, viewer, lessons, worker):
    client.force_login(viewer)

    page = client.get(PAGE).content.decode()

    assert 'href="?team=alpha"' in page and 'href="?team=beta"' in page
    assert 'id="prompt-pack"' not in page
    assert not PromptPackExport.objects.exists()


def test_the_console_refuses_an_unknown_team(client, viewer, lessons):
    client.force_login(viewer)

    assert client.get(PAGE, {"team": "nobody"}).status_code == 404
    assert not PromptPackExport.objects.exists()


def test_the_lessons_changelist_links_the_prompt_pack_page(client, viewer):
    client.force_login(viewer)

    page = client.get(reverse("admin:learning_learningmemoryupdate_changelist")).content.decode()

    assert f'href="{PAGE}"' in page


def test_exports_are_listed_read_only_in_the_console(client, owner, worker_client, lessons):
    worker_client.get(PACK)
    client.force_login(owner)
    export = PromptPackExport.objects.get()

    listing = client.get(reverse("admin:learning_promptpackexport_changelist")).content.decode()
    edit = client.post(
        reverse("admin:learning_promptpackexport_change", args=[export.pk]), {"lesson_count": 0}
    )

    assert export.digest in listing
    assert edit.status_code == 403
    assert PromptPackExport.objects.get().lesson_count == 5
