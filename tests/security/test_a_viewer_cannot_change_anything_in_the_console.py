"""The ops viewer reads the console; it changes nothing there.

For every model the console registers: the add, change and delete pages refuse the
viewer's POST (403), the viewer is offered no action, and posting each action anyway
(confirmed, with a rationale, as the intermediate pages would) changes nothing. The
console's own pages that write (deciding a self-heal request from the home, changing the
policy, purging reports) refuse the viewer too.
"""

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory
from django.urls import reverse

from core.admin import DECIDE
from tests.security.snapshot import database_snapshot

MODEL_ADMINS = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
IDS = [model._meta.label for model, _ in MODEL_ADMINS]
# What an intermediate page or a confirmation posts.
CONFIRMED = {
    DECIDE: "1",
    "post": "yes",
    "apply": "1",
    "rationale": "viewer was here",
    "note": "viewer was here",
    "decision": "adopt",
    "lesson": "viewer was here",
    "label": "viewer",
}


@pytest.fixture
def viewer_console(console_records, ops_viewer) -> Client:
    client = Client()
    client.force_login(ops_viewer)
    return client


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize(("model", "model_admin"), MODEL_ADMINS, ids=IDS)
def test_a_viewer_cannot_add_change_or_delete(viewer_console, model, model_admin):
    existing = model.objects.order_by("pk").first()
    before = database_snapshot()

    posts = [_url(model, "add")]
    if existing is not None:
        posts += [_url(model, "change", existing.pk), _url(model, "delete", existing.pk)]
    for url in posts:
        response = viewer_console.post(url, {"name": "viewer", **CONFIRMED})

        assert response.status_code == 403, (url, response.status_code)
    assert database_snapshot() == before


@pytest.mark.parametrize(("model", "model_admin"), MODEL_ADMINS, ids=IDS)
def test_a_viewer_is_offered_no_action_and_none_works(
    viewer_console, ops_viewer, model, model_admin
):
    request = RequestFactory().get(_url(model, "changelist"))
    request.user = ops_viewer
    names = [getattr(action, "__name__", action) for action in model_admin.actions or []]
    names.append("delete_selected")
    selected = list(model.objects.order_by("pk").values_list("pk", flat=True)[:3])
    before = database_snapshot()

    # A list the viewer may not even read (the login lockouts) offers it nothing either.
    may_view = model_admin.has_view_permission(request)
    offered = model_admin.get_actions(request) if may_view else {}
    for name in names:
        viewer_console.post(
            _url(model, "changelist"),
            {"action": name, "_selected_action": selected, "index": 0, **CONFIRMED},
        )

    assert offered == {}
    assert may_view or viewer_console.get(_url(model, "changelist")).status_code == 403
    assert database_snapshot() == before


def test_the_consoles_own_writing_pages_refuse_a_viewer(viewer_console, console_records):
    alpha, _ = console_records
    pages = [
        reverse("admin:console_self_heal_decide", args=[alpha.self_heal_request]),
        reverse("admin:policies_workerpolicy_change_policy"),
        reverse("admin:notifications_ownerreport_purge"),
    ]
    before = database_snapshot()

    for url in pages:
        for decision in ("approve", "reject"):
            response = viewer_console.post(
                url, {**CONFIRMED, "decision": decision, "older_than_days": 0, "confirm": "1"}
            )

            assert response.status_code == 403, (url, response.status_code)
    assert database_snapshot() == before
