"""A worker's raw token never reaches a log line.

Everything is captured at DEBUG (the root logger and django.request, django.db.backends
with every SQL statement and its parameters, urllib3, celery, kombu), while a token is
issued, used in requests that succeed and that fail, sent unknown, sent revoked, pasted into
an event's message and evidence, and while the self-heal callback that the token signs is
delivered to a real local HTTP server. The raw records are checked (nothing relies on the
redacting filter for a token in a header or a body); a token in a URL path, which Django
logs as it is, must come out of the console handler redacted.
"""

import logging
import secrets

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection
from rest_framework.test import APIClient

from core.redaction import RedactingFilter
from core.roles import RISK_REVIEWER
from repairs.models import WorkerToken
from repairs.services import worker_token_revoke
from repairs.tasks import self_heal_callback_send
from tests.factories import UserFactory, WorkerFactory, event_body, issue_token

API = "/api/v1"
LOGGERS = ["", "django", "django.request", "django.db.backends", "urllib3", "celery", "kombu"]


@pytest.fixture
def everything_logged(db, caplog):
    # urllib3.connectionpool is held at INFO by the settings; lower it too.
    for name in [*LOGGERS, "urllib3.connectionpool"]:
        caplog.set_level(logging.DEBUG, logger=name)
    connection.force_debug_cursor = True  # SQL and its parameters, as with DEBUG on
    yield caplog
    connection.force_debug_cursor = False


def _bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _logged(caplog) -> str:
    return "\n".join(
        record.getMessage() + " " + repr(record.args) + " " + str(record.__dict__)
        for record in caplog.records
    )


def test_a_token_used_well_and_badly_never_reaches_a_log_record(
    everything_logged, httpserver, django_capture_on_commit_callbacks
):
    worker = WorkerFactory()
    token = issue_token(worker)
    client = _bearer(token)
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("ok")

    # Succeeds: the worker reads itself, reports, with the token pasted into its text.
    assert client.get(f"{API}/workers/me").status_code == 200
    reported = client.post(
        f"{API}/worker-repair-events",
        event_body(
            action="release",
            message=f"auth failed with {token}",
            evidence=f"curl -H 'Authorization: Bearer {token}'\nTOKEN={token}\n{token}",
            callback_url=httpserver.url_for("/hook"),
        ),
        format="json",
    )
    assert reported.status_code == 201
    # Fails: invalid body, a job that does not exist, a decision a worker may not take.
    assert (
        client.post(f"{API}/worker-repair-events", {"gate": token}, format="json").status_code
        == 400
    )
    assert client.post(f"{API}/jobs/NO-SUCH-JOB/heartbeat").status_code == 404
    request_id = reported.json()["self_heal_request"]
    assert client.post(f"{API}/self-heal-requests/{request_id}/approve").status_code == 403
    # The reviewer approves; the callback signed with the token's digest is delivered.
    reviewer = UserFactory(is_staff=True)
    reviewer.groups.add(Group.objects.get(name=RISK_REVIEWER))
    person = APIClient()
    person.force_login(reviewer)
    with django_capture_on_commit_callbacks(execute=False):
        approved = person.post(
            f"{API}/self-heal-requests/{request_id}/approve", {"note": "go"}, format="json"
        )
    assert approved.status_code == 200
    self_heal_callback_send.apply(args=[request_id]).get()
    assert len(httpserver.log) == 1
    # Unknown, and revoked.
    unknown = "pls_" + secrets.token_urlsafe(32)
    assert _bearer(unknown).get(f"{API}/workers/me").status_code == 401
    worker_token_revoke(token=WorkerToken.objects.get(worker=worker))
    assert client.get(f"{API}/workers/me").status_code == 401

    logged = _logged(everything_logged)
    assert "Unauthorized: /api/v1/workers/me" in logged  # the capture did see the requests
    assert "SELECT" in logged
    seen = {record.name.split(".")[0] for record in everything_logged.records}
    assert {"django", "urllib3", "celery"} <= seen, seen
    assert token not in logged
    assert unknown not in logged


def test_a_token_in_a_url_path_leaves_the_console_handler_redacted(everything_logged):
    token = issue_token(WorkerFactory())

    response = _bearer(token).post(f"{API}/jobs/{token}/heartbeat")

    assert response.status_code == 404
    redacting = RedactingFilter()
    lines = []
    for record in everything_logged.records:
        redacting.filter(record)
        lines.append(logging.Formatter("%(name)s %(message)s").format(record))
    assert any("Not Found" in line for line in lines)
    assert token not in "\n".join(lines)


def test_every_configured_handler_redacts():
    # The filter the test above applies is the one every configured handler carries (read
    # from the settings: a test that starts a Celery worker may replace the live handlers).
    logging_config = settings.LOGGING
    filters = logging_config["filters"]
    redacting = {name for name, spec in filters.items() if spec.get("()") == RedactingFilter}
    redacting |= {
        name for name, spec in filters.items() if spec.get("()") == "core.redaction.RedactingFilter"
    }

    assert logging_config["handlers"]
    for name, handler in logging_config["handlers"].items():
        assert redacting & set(handler.get("filters", [])), name
    assert logging_config["root"]["handlers"]
