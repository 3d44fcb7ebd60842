"""The protection floor (issue 12, finding 2): ``PLS_PROTECTED_FLOOR`` holds whatever any
policy version says. A policy may add patterns but never drop the floor's; a PATCH or a
decision that tries to is a 400 problem naming the pattern."""

import pytest
from django.urls import reverse

from policies.models import PolicyDecision, Proposal, WorkerPolicy
from tests.factories import event_body

pytestmark = pytest.mark.django_db

CURRENT = "/api/v1/worker-policy/current"
EVENTS = "/api/v1/worker-repair-events"
FLOOR = ["*-db", "*postgres*", "*mysql*", "*redis*", "*mongo*"]


def patch(client, **body):
    policy_id = client.get(CURRENT).json()["id"]
    return client.patch(f"/api/v1/worker-policy/{policy_id}", body, format="json")


def verdict(client, **fields) -> dict:
    response = client.post(EVENTS, event_body(**fields), format="json")
    assert response.status_code == 201, response.content
    return response.json()["verdict"]


def test_the_default_floor_is_the_five_database_patterns(settings):
    assert settings.PLS_PROTECTED_FLOOR == FLOOR


@pytest.mark.parametrize(
    ("patterns", "named"),
    [
        ([], "*-db"),
        (["*-db"], "*postgres*"),
        # Look-alikes of the floor's patterns do not stand in for them.
        (["*-db*", "*postgres", "*mysql*", "*redis*", "*mongo*"], "*postgres*"),
        (["*-db", "*postgres*", "*mysql*", "*redis*", "*mong0*"], "*mongo*"),
    ],
)
def test_a_patch_that_drops_a_floor_pattern_is_a_problem_naming_it(
    owner, session_client, patterns, named
):
    client = session_client(owner)

    response = patch(client, protected_resources=patterns, rationale="fewer patterns")

    assert response.status_code == 400, response.content
    problem = response.json()
    assert problem["type"].endswith("/protection-floor")
    assert named in problem["detail"]
    assert named in problem["missing"]
    assert WorkerPolicy.objects.count() == 1


def test_a_policy_adds_patterns_on_top_of_the_floor(owner, session_client):
    client = session_client(owner)

    response = patch(client, protected_resources=[*FLOOR, "vault-*"], rationale="vault too")

    assert response.status_code == 200, response.content
    assert response.json()["policy"]["protected_resources"] == [*FLOOR, "vault-*"]


def test_a_proposal_decision_that_drops_the_floor_is_a_problem(owner, session_client):
    question = Proposal.objects.get(question_key="approval_matrix")

    response = session_client(owner).post(
        f"/api/v1/proposals/{question.pk}/decide",
        {
            "decision": "adopt",
            "rationale": "loosen everything",
            "policy_change": {
                "approval_matrix": {"restart_session": "none"},
                "protected_resources": [],
            },
        },
        format="json",
    )

    assert response.status_code == 400, response.content
    assert response.json()["type"].endswith("/protection-floor")
    assert WorkerPolicy.objects.count() == 1
    assert not PolicyDecision.objects.exists()
    assert Proposal.objects.get(pk=question.pk).status == "open"


def test_with_the_matrix_freed_a_protected_resource_is_still_denied(
    owner, session_client, worker_client
):
    """The rest of finding 2: once restart_session needs nobody, orders-db stays out of reach."""
    client = session_client(owner)
    assert patch(client, protected_resources=[], rationale="x").status_code == 400
    freed = patch(client, approval_matrix={"restart_session": "none"}, rationale="routine")
    assert freed.status_code == 200, freed.content

    assert (
        verdict(worker_client, job="", action="restart_session", target="orders-db")["decision"]
        == "denied"
    )
    assert (
        verdict(worker_client, job="", action="restart_session", target="cache-node-7")["decision"]
        == "allowed"
    )


def test_the_floor_holds_whatever_the_policy_in_force_lists(worker_client):
    # A version written before the floor existed, listing nothing (versions are append-only).
    WorkerPolicy.objects.create(version=2, protected_resources=[])

    for target in ["orders-db", "mysql-primary", "redis-cache", "mongo-7", "postgres"]:
        assert (
            verdict(worker_client, job="", action="restart_session", target=target)["decision"]
            == "denied"
        ), target


def test_the_floor_is_extended_through_its_setting(worker_client, settings):
    settings.PLS_PROTECTED_FLOOR = [*FLOOR, "vault-*"]

    assert (
        verdict(worker_client, job="", action="restart_session", target="vault-2")["decision"]
        == "denied"
    )


def test_workers_and_people_read_the_floor_with_the_policy(worker_client):
    body = worker_client.get(CURRENT).json()

    assert body["protected_floor"] == FLOOR


@pytest.mark.parametrize("action", ["hard_complete", "force_push", "delete_resource"])
def test_forbidden_actions_stay_forbidden(owner, session_client, worker_client, action):
    patch(session_client(owner), max_auto_retries=10, allow_auto_touch=True, rationale="loose")

    assert verdict(worker_client, job="", action=action, target="anything")["decision"] == "denied"


def test_the_console_policy_page_shows_the_floor_as_locked(client, owner):
    client.force_login(owner)

    page = client.get(reverse("admin:policies_workerpolicy_change_policy"))

    html = page.content.decode()
    assert 'id="protection-floor"' in html
    for pattern in FLOOR:
        assert f"<code>{pattern}</code>" in html
    # The owner edits the policy's own patterns; the floor's are not in the text box.
    assert page.context["form"]["protected_resources"].value() == ""


def _form(client, page: str, **changes) -> dict:
    form = client.get(page).context["form"]
    return {**{name: form[name].value() for name in form.fields}, **changes}


def test_the_console_adds_patterns_on_top_of_the_floor(client, owner):
    page = reverse("admin:policies_workerpolicy_change_policy")
    client.force_login(owner)

    client.post(
        page,
        {
            **_form(client, page, protected_resources="vault-*\n*-db", rationale="vault"),
            "_confirm": "1",
        },
    )

    assert WorkerPolicy.objects.get(version=2).protected_resources == [*FLOOR, "vault-*"]
    assert client.get(page).context["form"]["protected_resources"].value() == "vault-*"


def test_a_console_change_of_other_fields_leaves_the_patterns_as_they_were(client, owner):
    page = reverse("admin:policies_workerpolicy_change_policy")
    client.force_login(owner)

    client.post(page, {**_form(client, page, max_auto_retries=2, rationale="two"), "_confirm": "1"})

    decision = PolicyDecision.objects.get()
    assert list(decision.changes) == ["max_auto_retries"]
    assert WorkerPolicy.objects.get(version=2).protected_resources == ["*-db", "*postgres*"]
