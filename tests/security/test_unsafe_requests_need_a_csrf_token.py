"""A logged-in person's session is not enough to change anything: every unsafe request made
with the session cookie must carry the CSRF token, in the console and on the API alike.
(A worker's Bearer token and HTTP Basic are not sent by a browser on its own, so they need
none.)"""

import pytest
from django.test import Client

from repairs.models import Job, SelfHealRequest, WorkerToken

API = "/api/v1"


def _logged_in(user) -> tuple[Client, str]:
    """A browser that enforces CSRF, logged in, with the token the console page handed it."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    assert browser.get("/admin/").status_code == 200
    return browser, browser.cookies["csrftoken"].value


def test_an_api_write_with_a_session_and_no_csrf_token_is_refused(owner):
    browser, token = _logged_in(owner)
    job = {"external_id": "CSRF-1", "title": "created from a forged form"}

    refused = browser.post(f"{API}/jobs", job, content_type="application/json")

    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"
    assert "CSRF" in refused.json()["detail"]
    assert not Job.objects.filter(external_id="CSRF-1").exists()
    # The same request with the token goes through: the refusal was the missing token.
    allowed = browser.post(
        f"{API}/jobs", job, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert allowed.status_code == 201


@pytest.mark.parametrize("sent", ["no token", "a wrong token"])
def test_a_console_decision_with_no_or_a_wrong_csrf_token_is_refused(reviewer, alpha, sent):
    browser, token = _logged_in(reviewer)
    url = f"/admin/console/self-heal-requests/{alpha.self_heal_request}/decide/"
    form = {"decision": "approve", "note": "looks fine"}
    if sent == "a wrong token":
        form["csrfmiddlewaretoken"] = "x" * len(token)

    refused = browser.post(url, form)

    assert refused.status_code == 403
    assert SelfHealRequest.objects.get(pk=alpha.self_heal_request).status == "pending"
    allowed = browser.post(url, {**form, "csrfmiddlewaretoken": token})
    assert allowed.status_code == 302
    assert SelfHealRequest.objects.get(pk=alpha.self_heal_request).status == "approved"


def test_an_admin_action_with_a_session_and_no_csrf_token_is_refused(owner, alpha):
    browser, token = _logged_in(owner)
    url = "/admin/repairs/workertoken/"
    revoke = {"action": "revoke", "_selected_action": [WorkerToken.objects.get().pk]}

    refused = browser.post(url, revoke)

    assert refused.status_code == 403
    assert alpha.client().get(f"{API}/workers/me").status_code == 200
    assert browser.post(url, {**revoke, "csrfmiddlewaretoken": token}).status_code == 302
    assert alpha.client().get(f"{API}/workers/me").status_code == 401


def test_a_worker_token_needs_no_csrf_token(alpha):
    # Not a cookie: a forged page cannot make a browser send it.
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {alpha.token}")

    response = client.post(f"{API}/workers/me/usage", {"cents": 1}, content_type="application/json")

    assert response.status_code == 200
