"""The ops viewer reads; it changes nothing through the API.

Every route in the URLconf (outside /admin/, which has its own test) is sent every unsafe
method by a logged-in viewer (session, and HTTP Basic) with real ids in its path and a
plausible body: the API refuses each with 403 or 405, and the database is unchanged.
"""

import base64

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from policies.models import Proposal, WorkerPolicy
from tests.factories import ChannelFactory
from tests.security.snapshot import database_snapshot

UNSAFE = ("post", "put", "patch", "delete")
# Liveness, readiness, metrics and the way in for a browser: they write nothing whatever the
# method, take no credentials, and answer as for a GET (the root redirects to the console).
OPERATIONS = {"", "health", "ready", "metrics"}
# A POST that only reads: the what-if replay of a draft policy, open to the viewer (README).
READ_ONLY_POSTS = {"api/v1/worker-policy/simulate"}
# Chat providers' callbacks: a console login counts for nothing there, only the provider's
# signature (401 without it).
SIGNED_BY_PROVIDER = {"api/v1/channels/<int:pk>/interactions"}
BODY = {
    "note": "viewer was here",
    "rationale": "viewer was here",
    "decision": "adopt",
    "outcome": "resolved",
    "lesson": "viewer was here",
    "policy": {"max_auto_retries": 3},
    "max_auto_retries": 3,
    "cents": 100,
    "external_id": "VIEWER-1",
    "title": "viewer was here",
    "gate": "friction",
    "error_class": "viewer",
    "kind": "repair_lesson",
    "job": "VIEWER-1",
    "primary_url": "https://artifacts.example.com/x",
}


def _routes(patterns, prefix: str = ""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if not route.startswith("admin/"):
                yield from _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route


ROUTES = sorted(set(_routes(get_resolver().url_patterns)))


def _path(route: str, records) -> str:
    """The route with the id of a record it names."""
    alpha, _ = records
    ids = {
        "api/v1/worker-repair-events/": alpha.event,
        "api/v1/self-heal-requests/": alpha.self_heal_request,
        "api/v1/artifact-gate-checks/": alpha.artifact_check,
        "api/v1/learning-memory-updates/": alpha.learning_update,
        "api/v1/proposals/": Proposal.objects.order_by("pk").first().pk,
        "api/v1/worker-policy/": WorkerPolicy.objects.order_by("pk").first().pk,
    }
    if route in SIGNED_BY_PROVIDER:
        channel = ChannelFactory(kind="telegram", token="t", target="1")
        channel.interaction_secret = "telegram-secret-token"
        channel.save()
        ids["api/v1/channels/"] = channel.pk
    path = route.replace("<str:external_id>", alpha.job)
    for prefix, pk in ids.items():
        if path.startswith(prefix):
            path = path.replace("<int:pk>", str(pk))
    assert "<" not in path, f"no id to put in {route}"
    return "/" + path


def test_the_routes_include_every_api_endpoint():
    # Guards the walk itself: a route the walk missed would be a route not tested.
    api = [route for route in ROUTES if route.startswith("api/v1/")]

    assert len(api) >= 30
    assert "api/v1/worker-policy/<int:pk>" in api
    assert "api/v1/jobs/<str:external_id>/complete" in api


@pytest.fixture(params=["session", "basic"])
def viewer_client(request, ops_viewer):
    client = APIClient()
    if request.param == "session":
        client.force_login(ops_viewer)
    else:
        basic = base64.b64encode(f"{ops_viewer.username}:correct-horse-battery".encode())
        client.credentials(HTTP_AUTHORIZATION="Basic " + basic.decode())
    return client


@pytest.mark.parametrize("route", ROUTES)
def test_a_viewer_changes_nothing_with_any_unsafe_method(console_records, viewer_client, route):
    path = _path(route, console_records)
    before = database_snapshot()

    for method in UNSAFE:
        response = getattr(viewer_client, method)(path, BODY, format="json")

        if route in OPERATIONS or (route in READ_ONLY_POSTS and method == "post"):
            assert response.status_code < 400, (method, response.status_code)
        elif route in SIGNED_BY_PROVIDER:
            assert response.status_code == (401 if method == "post" else 405)
            assert response["Content-Type"] == "application/problem+json"
        else:
            assert response.status_code in (403, 405), (method, response.status_code)
            assert response["Content-Type"] == "application/problem+json"
    assert database_snapshot() == before
