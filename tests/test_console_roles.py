"""The console is role-aware: an ops_viewer reads everything and changes nothing, the risk
reviewer decides self-heal requests (and proposals), the owner also runs the policy, the
channels and the workers. The login is rate-limited against password guessing (django-axes),
on the console's form and on HTTP Basic alike."""

import base64
import io
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from tests.console import action_names
from tests.dashboards.fleet import Fleet

pytestmark = pytest.mark.django_db

ROLES = ("owner", "reviewer", "viewer")
FORBIDDEN = None  # the role may not even open the list

# Every action of the governance screens, per role (Django's "delete selected" included:
# only the owner may delete, and only channels).
ACTIONS = {
    "repairs_selfhealrequest": {
        "owner": {"approve", "reject"},
        "reviewer": {"approve", "reject"},
        "viewer": set(),
    },
    "policies_proposal": {
        "owner": {"adopt", "reject", "defer"},
        "reviewer": {"adopt", "reject", "defer"},
        "viewer": set(),
    },
    "repairs_worker": {
        "owner": {"issue_token", "rotate_callback_secret", "pause", "resume"},
        "reviewer": set(),
        "viewer": set(),
    },
    "repairs_workertoken": {"owner": {"revoke"}, "reviewer": set(), "viewer": set()},
    "notifications_channel": {
        "owner": {"send_test", "rotate_webhook_secret", "delete_selected"},
        "reviewer": FORBIDDEN,
        "viewer": FORBIDDEN,
    },
    "notifications_ownerreport": {"owner": {"replay_failed"}, "reviewer": set(), "viewer": set()},
    "policies_workerpolicy": {"owner": set(), "reviewer": set(), "viewer": set()},
    "policies_policydecision": {"owner": set(), "reviewer": set(), "viewer": set()},
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("screen", sorted(ACTIONS))
def test_each_action_is_offered_only_to_the_roles_that_may_use_it(request, client, role, screen):
    client.force_login(request.getfixturevalue(role))
    changelist = reverse(f"admin:{screen}_changelist")
    expected = ACTIONS[screen][role]

    if expected is FORBIDDEN:
        assert client.get(changelist).status_code == 403
    else:
        assert action_names(client, changelist) == expected


def test_a_viewer_reads_every_screen_and_changes_nothing(client, viewer):
    client.force_login(viewer)
    probe = RequestFactory().get("/")
    probe.user = viewer
    readable = []

    for model, model_admin in admin.site._registry.items():
        if not model_admin.has_view_permission(probe):
            continue
        readable.append(model._meta.model_name)
        changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert action_names(client, changelist) == set(), model
        assert not model_admin.has_add_permission(probe), model
        assert not model_admin.has_change_permission(probe), model
        assert not model_admin.has_delete_permission(probe), model

    assert {"repairevent", "selfhealrequest", "proposal", "workerpolicy", "worker"} <= set(readable)
    home = client.get("/admin/").content.decode()
    assert "addlink" not in home and "changelink" not in home


def test_only_the_owner_is_offered_the_policy_change(client, owner, reviewer, viewer):
    change_policy = reverse("admin:policies_workerpolicy_change_policy")
    changelist = reverse("admin:policies_workerpolicy_changelist")

    for person, may in ((owner, True), (reviewer, False), (viewer, False)):
        client.force_login(person)
        assert (change_policy in client.get(changelist).content.decode()) is may
        assert client.get(change_policy).status_code == (200 if may else 403)


def test_only_the_owner_manages_workers_and_channels(client, owner, reviewer, viewer):
    for person, may in ((owner, True), (reviewer, False), (viewer, False)):
        client.force_login(person)
        assert client.get(reverse("admin:repairs_worker_add")).status_code == (200 if may else 403)
        assert client.get(reverse("admin:notifications_channel_add")).status_code == (
            200 if may else 403
        )


@pytest.mark.parametrize(
    ("role", "approver_role", "buttons"),
    [
        ("reviewer", "risk_reviewer", True),
        ("reviewer", "pls_owner", False),
        ("owner", "pls_owner", True),
        ("owner", "risk_reviewer", False),
        ("viewer", "risk_reviewer", False),
        ("viewer", "pls_owner", False),
    ],
)
def test_approve_buttons_on_the_home_follow_the_approving_role(
    request, client, role, approver_role, buttons
):
    Fleet().request(approver_role=approver_role)
    client.force_login(request.getfixturevalue(role))

    html = client.get("/admin/").content.decode()

    assert ('value="approve"' in html) is buttons
    assert ('value="reject"' in html) is buttons
    assert 'id="approvals"' in html  # everyone sees the queue itself


def test_the_owner_sees_the_login_lockouts_in_the_console(client, owner, viewer):
    changelist = reverse("admin:axes_accessattempt_changelist")

    client.force_login(owner)
    assert action_names(client, changelist) >= {"delete_selected"}
    client.force_login(viewer)
    assert client.get(changelist).status_code == 403


# --- Login rate limit (django-axes) ----------------------------------------------------------

LOGIN = "/admin/login/"
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's


@pytest.fixture
def axes_on(settings):
    """The test settings turn django-axes off (tests call authenticate() without a
    request); these tests are about it."""
    settings.AXES_ENABLED = True


def test_the_rate_limit_is_on_everywhere_but_in_the_test_settings():
    from config.settings import base

    assert getattr(base, "AXES_ENABLED", True) is True
    assert base.AUTHENTICATION_BACKENDS == [
        "axes.backends.AxesStandaloneBackend",
        "core.auth_backends.RoleCachingModelBackend",
    ]
    assert base.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"
    assert base.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert base.AXES_RESET_ON_SUCCESS is True


def log_in(client: Client, username: str, password: str):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})


def test_wrong_passwords_lock_the_console_login_until_the_cool_off(client, reviewer, axes_on):
    limit = settings.AXES_FAILURE_LIMIT

    answers = [log_in(client, reviewer.username, "guess").status_code for _ in range(limit)]
    locked = log_in(client, reviewer.username, PASSWORD)

    assert answers == [200] * (limit - 1) + [429]
    assert locked.status_code == 429
    assert b"Too many failed logins" in locked.content
    assert "_auth_user_id" not in client.session
    # The lock is for this username from this address: the owner elsewhere still logs in.
    assert log_in(Client(REMOTE_ADDR="10.1.2.3"), reviewer.username, PASSWORD).status_code == 302

    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    after = log_in(client, reviewer.username, PASSWORD)

    assert after.status_code == 302
    assert client.session["_auth_user_id"] == str(reviewer.pk)


def test_a_successful_login_resets_the_count(client, reviewer, axes_on):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        log_in(client, reviewer.username, "guess")
    assert log_in(client, reviewer.username, PASSWORD).status_code == 302
    client.logout()

    answers = [log_in(client, reviewer.username, "guess").status_code for _ in range(limit - 1)]

    assert answers == [200] * (limit - 1)
    assert log_in(client, reviewer.username, PASSWORD).status_code == 302


def basic(username: str, password: str) -> APIClient:
    client = APIClient()
    credentials = base64.b64encode(f"{username}:{password}".encode()).decode()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {credentials}")
    return client


def test_http_basic_on_the_api_counts_against_the_same_limit(reviewer, axes_on):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert basic(reviewer.username, "guess").get("/api/v1/scorecard").status_code == 401

    right = basic(reviewer.username, PASSWORD)
    assert right.get("/api/v1/scorecard").status_code == 401  # locked: refused as wrong
    assert log_in(Client(), reviewer.username, PASSWORD).status_code == 429

    call_command("axes_reset_username", reviewer.username, stdout=io.StringIO())

    assert right.get("/api/v1/scorecard").status_code == 200
