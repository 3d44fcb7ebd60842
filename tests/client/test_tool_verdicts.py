"""The verdict cases of issue 14 end to end: the agents' documented hook inputs piped into
``pls hook`` against a live console that judges tool calls. They need the server half
(``POST /api/v1/tool-verdicts`` with the seeded tool rules)."""

import json
import time

import pytest

from repairs.models import SelfHealRequest
from repairs.services import self_heal_request_decide
from tests.client.conftest import sample

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def bash(agent: str, command: str) -> dict:
    return sample(agent, "pre_tool_use", tool_input={"command": command})


def decision(result) -> dict:  # type: ignore[no-untyped-def]
    assert result.code == 0, result.stderr
    return result.json()["hookSpecificOutput"]


def test_a_read_only_call_is_allowed(pls, worker):
    read = sample(
        "claude_code",
        "pre_tool_use",
        tool_name="Read",
        tool_input={"file_path": "/home/user/my-project/README.md"},
    )

    claude = decision(pls.hook("claude-code", read))
    codex = pls.hook("codex", bash("codex", "ls -la"))

    assert claude["permissionDecision"] == "allow"
    assert "diagnose" in claude["permissionDecisionReason"]
    assert (codex.code, codex.stdout) == (0, "")


@pytest.mark.parametrize("agent", ["claude_code", "codex"])
def test_a_force_push_is_denied(pls, worker, agent):
    output = decision(
        pls.hook(agent.replace("_", "-"), bash(agent, "git push --force origin main"))
    )

    assert output["permissionDecision"] == "deny"
    assert "force_push" in output["permissionDecisionReason"]


@pytest.mark.parametrize("agent", ["claude_code", "codex"])
def test_restarting_a_protected_service_is_denied(pls, worker, agent):
    output = decision(pls.hook(agent.replace("_", "-"), bash(agent, "docker restart momo-db")))

    assert output["permissionDecision"] == "deny"
    assert "restart_service on momo-db" in output["permissionDecisionReason"]


def test_an_approved_call_is_allowed_once_and_the_next_identical_call_needs_approval_again(
    pls, worker, reviewer
):
    restart = bash("claude_code", "docker restart web-1")
    waiting = pls.with_env(PLS_APPROVAL_WAIT_SECONDS="60").popen("hook", "claude-code")
    waiting.stdin.write(json.dumps(restart))
    waiting.stdin.close()
    deadline = time.monotonic() + 30
    while not (pending := SelfHealRequest.objects.filter(worker=worker, status="pending").first()):
        assert time.monotonic() < deadline, waiting.stderr.read()
        time.sleep(0.2)
    assert pending.action == "restart_service" and pending.target == "web-1"

    self_heal_request_decide(request=pending, user=reviewer, approve=True, note="go ahead")
    allowed = json.loads(waiting.stdout.read())["hookSpecificOutput"]
    again = decision(pls.with_env(PLS_APPROVAL_WAIT_SECONDS="1").hook("claude-code", restart))

    assert waiting.wait(timeout=30) == 0
    assert allowed["permissionDecision"] == "allow"
    assert f"self-heal request #{pending.pk}" in allowed["permissionDecisionReason"]
    assert again["permissionDecision"] == "deny"
    newer = SelfHealRequest.objects.filter(worker=worker, status="pending").get()
    assert newer.pk != pending.pk
    assert f"Self-heal request #{newer.pk}" in again["permissionDecisionReason"]


@pytest.mark.parametrize("agent", ["claude_code", "codex"])
def test_a_call_not_approved_in_time_is_denied_naming_the_request(pls, worker, agent):
    slow = pls.with_env(PLS_APPROVAL_WAIT_SECONDS="1")

    output = decision(slow.hook(agent.replace("_", "-"), bash(agent, "docker restart web-1")))

    request = SelfHealRequest.objects.get(worker=worker, status="pending")
    assert output["permissionDecision"] == "deny"
    assert f"Self-heal request #{request.pk}" in output["permissionDecisionReason"]
    assert "retry this identical call" in output["permissionDecisionReason"]
