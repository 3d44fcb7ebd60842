"""The owner and the risk reviewer accept, edit, retire and share lessons, in the console and
through the API; the viewer and the workers read them and change nothing."""

import pytest
from django.urls import reverse

from learning.models import LearningMemoryUpdate
from tests.console import action_names, console_rights, shown_messages
from tests.factories import LearningUpdateFactory
from tests.learning.conftest import UPDATES

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:learning_learningmemoryupdate_changelist")


def change_page(update: LearningMemoryUpdate) -> str:
    return reverse("admin:learning_learningmemoryupdate_change", args=[update.pk])


# --- The API ---


@pytest.mark.parametrize("role", ["owner", "reviewer"])
def test_the_owner_and_the_risk_reviewer_accept_through_the_api(request, session_client, role):
    person = request.getfixturevalue(role)
    update = LearningUpdateFactory()

    response = session_client(person).post(f"{UPDATES}/{update.pk}/accept")

    assert response.status_code == 200
    assert response.json()["review"] == "accepted"
    assert response.json()["reviewed_by"] == person.username
    stored = LearningMemoryUpdate.objects.get(pk=update.pk)
    assert (stored.review, stored.reviewed_by) == ("accepted", person)
    assert stored.reviewed_at is not None


def test_the_viewer_cannot_accept_retire_or_edit(session_client, viewer):
    update = LearningUpdateFactory()
    client = session_client(viewer)

    accept = client.post(f"{UPDATES}/{update.pk}/accept")
    retire = client.post(f"{UPDATES}/{update.pk}/retire")
    edit = client.patch(f"{UPDATES}/{update.pk}", {"next_round_priority": 1}, format="json")

    assert [accept.status_code, retire.status_code, edit.status_code] == [403, 403, 403]
    stored = LearningMemoryUpdate.objects.get(pk=update.pk)
    assert (stored.review, stored.next_round_priority, stored.reviewed_by) == ("pending", 3, None)


def test_a_worker_reviews_nothing_not_even_its_own_teams_lessons(worker_client):
    update = LearningUpdateFactory()

    response = worker_client.post(f"{UPDATES}/{update.pk}/accept")

    assert response.status_code == 403
    assert LearningMemoryUpdate.objects.get(pk=update.pk).review == "pending"


def test_a_person_with_the_right_but_no_reviewing_role_is_refused(session_client):
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    helper = UserFactory()
    helper.user_permissions.add(Permission.objects.get(codename="change_learningmemoryupdate"))
    update = LearningUpdateFactory()

    response = session_client(helper).post(f"{UPDATES}/{update.pk}/accept")

    assert response.status_code == 403
    assert response.json()["type"].endswith("/not-allowed")


def test_retiring_takes_an_accepted_lesson_out_and_accepting_brings_it_back(
    session_client, reviewer
):
    update = LearningUpdateFactory(review="accepted")
    client = session_client(reviewer)

    retired = client.post(f"{UPDATES}/{update.pk}/retire").json()
    again = client.post(f"{UPDATES}/{update.pk}/retire")
    back = client.post(f"{UPDATES}/{update.pk}/accept").json()

    assert retired["review"] == "retired"
    assert again.status_code == 409
    assert again.json()["type"].endswith("/review-not-allowed")
    assert back["review"] == "accepted"


def test_accepting_an_accepted_lesson_is_a_409(session_client, owner):
    update = LearningUpdateFactory(review="accepted")

    response = session_client(owner).post(f"{UPDATES}/{update.pk}/accept")

    assert response.status_code == 409


def test_editing_rewrites_lesson_fix_and_priority_and_the_lesson_digest(session_client, owner):
    update = LearningUpdateFactory(review="accepted")
    old_digest = update.lesson_digest

    response = session_client(owner).patch(
        f"{UPDATES}/{update.pk}",
        {"lesson": "Fetch once more after 60 s.", "fix": "sleep 60", "next_round_priority": 1},
        format="json",
    )

    assert response.status_code == 200
    stored = LearningMemoryUpdate.objects.get(pk=update.pk)
    assert (stored.lesson, stored.fix, stored.next_round_priority) == (
        "Fetch once more after 60 s.",
        "sleep 60",
        1,
    )
    assert stored.review == "accepted"
    assert stored.reviewed_by == owner
    assert stored.lesson_digest != old_digest


def test_an_edit_that_repeats_another_lesson_is_refused_with_a_pointer_to_it(session_client, owner):
    twin = LearningUpdateFactory(lesson="Fetch once more after 60 s.")
    update = LearningUpdateFactory()

    response = session_client(owner).patch(
        f"{UPDATES}/{update.pk}", {"lesson": "fetch ONCE more after 90 s."}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["update"] == twin.pk
    assert LearningMemoryUpdate.objects.get(pk=update.pk).lesson == update.lesson


def test_an_empty_edit_is_a_400(session_client, owner):
    update = LearningUpdateFactory()

    response = session_client(owner).patch(f"{UPDATES}/{update.pk}", {}, format="json")

    assert response.status_code == 400


# --- The console ---


def test_only_the_owner_and_the_risk_reviewer_are_offered_the_review_actions(
    client, owner, reviewer, viewer
):
    LearningUpdateFactory()
    offered = {}
    for person in (owner, reviewer, viewer):
        client.force_login(person)
        offered[person] = action_names(client, CHANGELIST)

    review = {"accept", "retire", "share_fleet_wide"}
    assert offered[owner] == review
    assert offered[reviewer] == review
    assert offered[viewer] == set()


def test_accepting_in_the_console_reports_each_lesson(client, reviewer):
    pending, accepted = LearningUpdateFactory(), LearningUpdateFactory(review="accepted")
    client.force_login(reviewer)

    response = client.post(
        CHANGELIST,
        {"action": "accept", "_selected_action": [pending.pk, accepted.pk]},
        follow=True,
    )

    messages = shown_messages(response)
    assert f"Learning update #{pending.pk} accepted." in messages
    assert any(f"#{accepted.pk}: Learning update #{accepted.pk} is accepted" in m for m in messages)
    assert LearningMemoryUpdate.objects.get(pk=pending.pk).reviewed_by == reviewer


def test_retiring_in_the_console(client, owner):
    update = LearningUpdateFactory(review="accepted")
    client.force_login(owner)

    client.post(CHANGELIST, {"action": "retire", "_selected_action": [update.pk]})

    assert LearningMemoryUpdate.objects.get(pk=update.pk).review == "retired"


def test_sharing_makes_a_teams_lesson_fleet_wide_unless_the_fleet_already_has_it(client, owner):
    shared = LearningUpdateFactory(lesson="Upload before completing.")
    LearningUpdateFactory(team="", lesson="Report the blocker first.")
    duplicate = LearningUpdateFactory(lesson="Report the blocker first.")
    client.force_login(owner)

    response = client.post(
        CHANGELIST,
        {"action": "share_fleet_wide", "_selected_action": [shared.pk, duplicate.pk]},
        follow=True,
    )

    assert LearningMemoryUpdate.objects.get(pk=shared.pk).team == ""
    assert LearningMemoryUpdate.objects.get(pk=duplicate.pk).team == "alpha"
    assert any("already says this for the whole fleet" in m for m in shown_messages(response))


def test_a_viewer_posting_a_review_action_anyway_changes_nothing(client, viewer):
    update = LearningUpdateFactory()
    client.force_login(viewer)

    client.post(CHANGELIST, {"action": "accept", "_selected_action": [update.pk]})

    assert LearningMemoryUpdate.objects.get(pk=update.pk).review == "pending"


def test_the_reviewer_edits_lesson_fix_and_priority_in_the_console(client, reviewer):
    update = LearningUpdateFactory()
    client.force_login(reviewer)

    response = client.post(
        change_page(update),
        {"lesson": "Fetch once more after 60 s.", "fix": "sleep 60", "next_round_priority": 2},
    )

    assert response.status_code == 302
    stored = LearningMemoryUpdate.objects.get(pk=update.pk)
    assert (stored.lesson, stored.fix, stored.next_round_priority) == (
        "Fetch once more after 60 s.",
        "sleep 60",
        2,
    )
    assert stored.reviewed_by == reviewer


def test_the_console_edit_refuses_a_lesson_another_update_already_holds(client, reviewer):
    twin = LearningUpdateFactory(lesson="Fetch once more after 60 s.")
    update = LearningUpdateFactory()
    client.force_login(reviewer)

    response = client.post(
        change_page(update),
        {"lesson": "fetch once more after 5 s.", "fix": "", "next_round_priority": 2},
    )

    assert response.status_code == 200
    assert f"Update #{twin.pk} already says this" in response.content.decode()
    assert LearningMemoryUpdate.objects.get(pk=update.pk).lesson == update.lesson


def test_the_viewer_reads_a_lesson_but_cannot_change_it(client, viewer):
    update = LearningUpdateFactory()
    client.force_login(viewer)

    page = client.get(change_page(update))
    post = client.post(change_page(update), {"lesson": "changed", "next_round_priority": 1})

    assert page.status_code == 200
    assert 'name="lesson"' not in page.content.decode()
    assert post.status_code == 403
    assert LearningMemoryUpdate.objects.get(pk=update.pk).lesson == update.lesson
    assert console_rights(viewer, update) == {"add": False, "change": False, "delete": False}


def test_nobody_adds_or_deletes_lessons_in_the_console_not_even_the_owner(owner):
    update = LearningUpdateFactory()

    assert console_rights(owner, update) == {"add": False, "change": True, "delete": False}


def test_editing_only_the_lesson_text_leaves_the_rest_of_the_row(client, reviewer):
    update = LearningUpdateFactory(occurrences=7, review="accepted", team="alpha")
    client.force_login(reviewer)

    client.post(
        change_page(update),
        {"lesson": "A better wording.", "fix": update.fix, "next_round_priority": 3},
    )

    stored = LearningMemoryUpdate.objects.get(pk=update.pk)
    assert (stored.occurrences, stored.review, stored.team, stored.kind) == (
        7,
        "accepted",
        "alpha",
        "repair_lesson",
    )
