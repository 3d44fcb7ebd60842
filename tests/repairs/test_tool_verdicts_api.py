"""``POST /api/v1/tool-verdicts`` (issue 14): the ladder judges an agent's tool call as the
policy's tool rules read it; one approval allows one call; every answer is logged."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from core.exceptions import NotAllowed
from notifications.models import OwnerReport
from repairs.models import Gate, RepairEvent, SelfHealRequest, ToolVerdict
from repairs.services import self_heal_request_decide
from tests.factories import WorkerFactory, client_for, held_job, policy_set

pytestmark = pytest.mark.django_db

VERDICTS = "/api/v1/tool-verdicts"


def ask(client, command: str = "docker restart web-1", **fields) -> dict:
    body = {"tool_name": "Bash", "tool_input": {"command": command}, "cwd": "/srv/app", **fields}
    response = client.post(VERDICTS, body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_an_allowed_call_answers_the_whole_contract(worker_client):
    answer = ask(worker_client, "ls -la", agent="codex", tool_use_id="call_1")

    log = ToolVerdict.objects.get()
    assert answer == {
        "verdict": "allowed",
        "reason": "Observing is always allowed.",
        "action": "diagnose",
        "target": "",
        "rule": "read-only shell",
        "policy_version": 1,
        "decision_id": log.pk,
        "self_heal_request": None,
    }
    assert (log.agent, log.tool_use_id, log.cwd) == ("codex", "call_1", "/srv/app")


@pytest.mark.parametrize(
    ("command", "action", "target", "words"),
    [
        ("git push --force origin main", "force_push", "", "forbidden under every policy"),
        ("docker restart momo-db", "restart_service", "momo-db", "protected resource"),
        ("rm -rf /var/lib/postgresql", "delete_resource", "/var/lib/postgresql", "forbidden"),
    ],
)
def test_forbidden_and_protected_calls_are_denied(worker_client, command, action, target, words):
    answer = ask(worker_client, command)

    assert (answer["verdict"], answer["action"], answer["target"]) == ("denied", action, target)
    assert words in answer["reason"]
    assert not SelfHealRequest.objects.exists()


def test_the_job_the_worker_holds_is_judged_too(worker, worker_client):
    held_job(worker, external_id="orders-db")

    answer = ask(worker_client, "docker restart web-1")

    assert answer["verdict"] == "denied"
    assert "orders-db is a protected resource" in answer["reason"]


def test_a_risky_call_opens_one_request_and_asking_again_reuses_it(worker, worker_client):
    first = ask(worker_client, tool_use_id="toolu_1")
    again = ask(worker_client, tool_use_id="toolu_2", session_id="another")

    request = SelfHealRequest.objects.get()
    assert first["verdict"] == again["verdict"] == "needs_approval"
    assert first["self_heal_request"]["id"] == again["self_heal_request"]["id"] == request.pk
    assert first["self_heal_request"]["status"] == "pending"
    assert (request.action, request.target, request.resources) == (
        "restart_service",
        "web-1",
        ["web-1"],
    )
    assert request.approver_role == "risk_reviewer" and request.requested_by == worker.user
    assert request.event.gate == Gate.TOOL_CALL
    assert OwnerReport.objects.filter(dedup_key=f"self_heal.pending:{request.pk}").exists()
    # Another working directory is another call.
    elsewhere = ask(worker_client, cwd="/srv/other")
    assert elsewhere["self_heal_request"]["id"] != request.pk


def test_an_approval_allows_that_call_once_then_it_needs_approval_again(worker_client, reviewer):
    pending = ask(worker_client, tool_use_id="toolu_1")["self_heal_request"]
    request = SelfHealRequest.objects.get(pk=pending["id"])
    self_heal_request_decide(request=request, user=reviewer, approve=True)

    other_call = ask(worker_client, "docker restart web-2")
    allowed = ask(worker_client, tool_use_id="toolu_1")
    # Claude Code asks twice for one call (PreToolUse, then PermissionRequest).
    same_call = ask(worker_client, tool_use_id="toolu_1")
    next_call = ask(worker_client, tool_use_id="toolu_9")

    assert other_call["verdict"] == "needs_approval"
    assert allowed["verdict"] == same_call["verdict"] == "allowed"
    assert f"self-heal request #{request.pk}" in allowed["reason"]
    assert allowed["self_heal_request"] == {
        "id": request.pk,
        "status": "approved",
        "expires_at": allowed["self_heal_request"]["expires_at"],
    }
    assert next_call["verdict"] == "needs_approval"
    assert next_call["self_heal_request"]["id"] not in (
        request.pk,
        other_call["self_heal_request"]["id"],
    )
    request.refresh_from_db()
    assert request.consumed_at is not None and request.consumed_by_tool_use_id == "toolu_1"


def test_a_rejected_or_expired_request_allows_nothing(worker_client, reviewer):
    rejected = SelfHealRequest.objects.get(pk=ask(worker_client)["self_heal_request"]["id"])
    self_heal_request_decide(request=rejected, user=reviewer, approve=False, note="no")

    after_rejection = ask(worker_client)
    stale = SelfHealRequest.objects.get(pk=after_rejection["self_heal_request"]["id"])
    SelfHealRequest.objects.filter(pk=stale.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    after_expiry = ask(worker_client)

    assert after_rejection["verdict"] == after_expiry["verdict"] == "needs_approval"
    assert stale.pk != rejected.pk
    stale.refresh_from_db()
    assert stale.status == "expired"
    assert after_expiry["self_heal_request"]["id"] not in (rejected.pk, stale.pk)


def test_an_approval_is_bound_to_the_claim_it_was_asked_under(worker, worker_client, reviewer):
    job = held_job(worker)
    request = SelfHealRequest.objects.get(pk=ask(worker_client)["self_heal_request"]["id"])
    self_heal_request_decide(request=request, user=reviewer, approve=True)
    # The claim is another one now: released and claimed again.
    type(job).objects.filter(pk=job.pk).update(claimed_at=timezone.now() + timedelta(seconds=5))

    answer = ask(worker_client)

    assert answer["verdict"] == "needs_approval"
    assert answer["self_heal_request"]["id"] != request.pk


def test_four_eyes_holds_for_a_tool_call_request(worker, worker_client):
    request = SelfHealRequest.objects.get(pk=ask(worker_client)["self_heal_request"]["id"])

    with pytest.raises(NotAllowed):
        self_heal_request_decide(request=request, user=worker.user, approve=True)


def test_the_logged_input_is_redacted(worker_client):
    secret = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    ask(worker_client, f"curl -H 'Authorization: token {secret}' https://api.github.com")

    log = ToolVerdict.objects.get()
    assert secret not in log.tool_input
    assert "REDACTED" in log.tool_input


def test_a_person_cannot_ask_and_reads_the_log(session_client, owner, worker_client):
    ask(worker_client, "ls")
    client = session_client(owner)

    refused = client.post(VERDICTS, {"tool_name": "Bash", "tool_input": {}}, format="json")
    listed = client.get(VERDICTS)
    exported = client.get(VERDICTS, {"format": "csv"})

    assert refused.status_code == 403
    assert [row["rule"] for row in listed.json()["results"]] == ["read-only shell"]
    assert b"read-only shell" in b"".join(exported.streaming_content)


def test_a_worker_reads_only_its_own_verdicts(worker_client):
    ask(worker_client, "ls")
    ask(client_for(WorkerFactory()), "pwd")

    rows = worker_client.get(VERDICTS).json()["results"]

    assert [row["tool_input"] for row in rows] == ['{"command": "ls"}']


@pytest.mark.parametrize(
    "body",
    [
        {"tool_input": {"command": "ls"}},
        {"tool_name": "Bash", "tool_input": "ls"},
        {"tool_name": "Bash", "tool_input": {}, "agent": "cursor"},
    ],
)
def test_a_bad_body_is_a_400_problem(worker_client, body):
    response = worker_client.post(VERDICTS, body, format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"


def test_an_input_over_the_request_limit_is_a_413_problem(worker_client, settings):
    big = {"tool_name": "Write", "tool_input": {"content": "x" * (settings.PLS_MAX_REQUEST_BYTES)}}

    response = worker_client.post(VERDICTS, big, format="json")

    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert not ToolVerdict.objects.exists()


def test_a_keyed_retry_is_answered_once(worker_client):
    body = {"tool_name": "Bash", "tool_input": {"command": "ls"}}
    key = {"HTTP_IDEMPOTENCY_KEY": "pls-verdict-1"}

    first = worker_client.post(VERDICTS, body, format="json", **key)
    second = worker_client.post(VERDICTS, body, format="json", **key)

    assert first.json() == second.json()
    assert ToolVerdict.objects.count() == 1


def test_a_policy_rule_decides_the_call(worker_client):
    policy_set(
        tool_rules=[
            {
                "name": "deploys",
                "tool": "Bash",
                "input": r"\bdeploy\s+(?P<target>\S+)",
                "action": "rerun_pipeline",
                "target": "target",
                "must_match": ["deploy web"],
                "must_not_match": [],
            }
        ],
        tool_default="propose",
    )

    deploy = ask(worker_client, "deploy web")
    other = ask(worker_client, "make")

    assert (deploy["rule"], deploy["action"], deploy["verdict"]) == (
        "deploys",
        "rerun_pipeline",
        "needs_approval",
    )
    assert (other["rule"], other["action"], other["verdict"], other["policy_version"]) == (
        "tool_default",
        "propose",
        "allowed",
        2,
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_identical_calls_at_once_open_one_request():
    worker = WorkerFactory()
    clients = [client_for(worker) for _ in range(8)]
    start = threading.Barrier(len(clients))
    answers: list[dict] = []

    def call(client) -> None:  # type: ignore[no-untyped-def]
        try:
            start.wait()
            answers.append(ask(client))
        finally:
            connection.close()

    threads = [threading.Thread(target=call, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(answers) == len(clients)
    assert {answer["self_heal_request"]["id"] for answer in answers} == {
        SelfHealRequest.objects.get().pk
    }
    assert RepairEvent.objects.filter(gate=Gate.TOOL_CALL).count() == 1


@pytest.mark.parametrize("command", ["ls", "docker restart web-1"])
def test_the_written_out_answer_is_the_serializers(worker_client, command):
    from repairs.api.tool_verdicts import ToolVerdictOutput

    answer = ask(worker_client, command)

    logged = ToolVerdict.objects.get(pk=answer["decision_id"])
    assert answer == ToolVerdictOutput(logged).data


def test_a_named_job_must_exist_and_be_held_by_the_worker(worker_client):
    other = held_job(WorkerFactory())

    unknown = worker_client.post(
        VERDICTS, {"tool_name": "Bash", "tool_input": {}, "job": "NOPE-1"}, format="json"
    )
    not_held = worker_client.post(
        VERDICTS, {"tool_name": "Bash", "tool_input": {}, "job": other.external_id}, format="json"
    )

    assert unknown.status_code == 404 and unknown.json()["job"] == "NOPE-1"
    assert not_held.status_code == 403
    assert not ToolVerdict.objects.exists()
