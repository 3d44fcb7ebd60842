"""The hooks against the tool-verdict contract the console will serve (issue 14's server
half), played by a local HTTP server: what the hooks send, how they read each verdict, and
how they wait for a reviewer. tests/client/test_tool_verdicts.py runs the same cases against
the real console once it has the endpoint."""

import json
import time

from pytest_httpserver import HTTPServer

from tests.client.conftest import sample

VERDICTS = "/api/v1/tool-verdicts"


def verdict(decision: str, **extra) -> dict:
    return {
        "verdict": decision,
        "reason": extra.pop("reason", "observing is always allowed"),
        "action": extra.pop("action", "diagnose"),
        "target": extra.pop("target", ""),
        "rule": extra.pop("rule", "read-only tools"),
        "policy_version": 4,
        "decision_id": extra.pop("decision_id", 31),
        "self_heal_request": extra.pop("self_heal_request", None),
    }


def url(server: HTTPServer) -> str:
    return server.url_for("").rstrip("/")


def test_an_allowed_call_is_allowed_in_claude_code_and_silent_in_codex(pls_for, httpserver):
    httpserver.expect_request(VERDICTS, method="POST").respond_with_json(verdict("allowed"))
    pls = pls_for(url=url(httpserver))

    claude = pls.hook("claude-code", sample("claude_code", "pre_tool_use"))
    codex = pls.hook("codex", sample("codex", "pre_tool_use"))

    assert claude.code == 0, claude.stderr
    output = claude.json()["hookSpecificOutput"]
    assert output == {
        "hookEventName": "PreToolUse",
        "permissionDecision": "allow",
        "permissionDecisionReason": "PLS allowed this Bash call as diagnose on -: observing is "
        "always allowed (rule read-only tools, policy v4, decision #31).",
    }
    assert (codex.code, codex.stdout) == (0, "")  # Codex honours only a deny
    sent = [json.loads(request.get_data()) for request, _response in httpserver.log]
    assert sent[0] == {
        "tool_name": "Bash",
        "tool_input": {"command": "npm test"},
        "agent": "claude_code",
        "session_id": "abc123",
        "cwd": "/home/user/my-project",
    }
    assert sent[1]["agent"] == "codex" and sent[1]["tool_use_id"] == "call_1"
    headers = httpserver.log[0][0].headers
    assert headers["Authorization"] == "Bearer pls_test_token"
    assert headers["Idempotency-Key"].startswith("pls-")


def test_a_denied_call_is_denied_with_the_reason_in_both_agents(pls_for, httpserver):
    httpserver.expect_request(VERDICTS, method="POST").respond_with_json(
        verdict(
            "denied",
            action="force_push",
            target="origin/main",
            rule="git force push",
            reason="force_push is forbidden under every policy",
        )
    )
    pls = pls_for(url=url(httpserver))
    push = {"command": "git push --force origin main"}

    for agent in ("claude_code", "codex"):
        result = pls.hook(agent.replace("_", "-"), sample(agent, "pre_tool_use", tool_input=push))

        assert result.code == 0, result.stderr
        output = result.json()["hookSpecificOutput"]
        assert output["permissionDecision"] == "deny"
        assert output["permissionDecisionReason"].startswith(
            "PLS denied this Bash call as force_push on origin/main: force_push is forbidden"
        )


def test_an_approved_request_allows_the_call_on_asking_again(pls_for, httpserver):
    pending = {"id": 7, "status": "pending", "expires_at": "2026-12-04T09:00:00Z"}
    httpserver.expect_oneshot_request(VERDICTS, method="POST").respond_with_json(
        verdict(
            "needs_approval",
            action="restart_service",
            target="web-1",
            reason="restart_service needs the risk reviewer",
            self_heal_request=pending,
        )
    )
    httpserver.expect_oneshot_request(VERDICTS, method="POST").respond_with_json(
        verdict("allowed", action="restart_service", target="web-1", reason="approved once")
    )
    httpserver.expect_oneshot_request("/api/v1/self-heal-requests/7").respond_with_json(
        {"id": 7, "status": "pending"}
    )
    httpserver.expect_request("/api/v1/self-heal-requests/7").respond_with_json(
        {"id": 7, "status": "approved"}
    )
    pls = pls_for(url=url(httpserver), PLS_APPROVAL_WAIT_SECONDS="10")
    restart = sample("claude_code", "pre_tool_use", tool_input={"command": "docker restart web-1"})

    result = pls.hook("claude-code", restart)

    assert result.code == 0, result.stderr
    output = result.json()["hookSpecificOutput"]
    assert output["permissionDecision"] == "allow"
    assert "approved in self-heal request #7" in output["permissionDecisionReason"]
    asks = [request for request, _ in httpserver.log if request.path == VERDICTS]
    assert len(asks) == 2
    assert json.loads(asks[0].get_data()) == json.loads(asks[1].get_data())  # the identical call
    assert asks[0].headers["Idempotency-Key"] != asks[1].headers["Idempotency-Key"]


def test_a_request_still_pending_when_the_wait_ends_denies_naming_it(pls_for, httpserver):
    httpserver.expect_request(VERDICTS, method="POST").respond_with_json(
        verdict(
            "needs_approval",
            reason="restart_service needs the risk reviewer",
            self_heal_request={"id": 8, "status": "pending", "expires_at": "tomorrow"},
        )
    )
    httpserver.expect_request("/api/v1/self-heal-requests/8").respond_with_json(
        {"id": 8, "status": "pending", "approver_role": "risk_reviewer"}
    )
    pls = pls_for(url=url(httpserver), PLS_APPROVAL_WAIT_SECONDS="1")

    for agent in ("claude_code", "codex"):
        started = time.monotonic()
        result = pls.hook(agent.replace("_", "-"), sample(agent, "pre_tool_use"))

        assert time.monotonic() - started >= 1
        reason = result.json()["hookSpecificOutput"]["permissionDecisionReason"]
        assert result.json()["hookSpecificOutput"]["permissionDecision"] == "deny"
        assert "Self-heal request #8 waits for the risk_reviewer" in reason
        assert "retry this identical call once the request is approved" in reason


def test_a_rejected_request_denies_and_says_not_to_retry(pls_for, httpserver):
    httpserver.expect_request(VERDICTS, method="POST").respond_with_json(
        verdict("needs_approval", self_heal_request={"id": 9, "status": "pending"})
    )
    httpserver.expect_request("/api/v1/self-heal-requests/9").respond_with_json(
        {"id": 9, "status": "rejected", "note": "not during the release freeze"}
    )
    pls = pls_for(url=url(httpserver), PLS_APPROVAL_WAIT_SECONDS="5")

    result = pls.hook("claude-code", sample("claude_code", "pre_tool_use"))

    reason = result.json()["hookSpecificOutput"]["permissionDecisionReason"]
    assert "was rejected: not during the release freeze. Do not retry it." in reason


def test_a_permission_prompt_for_a_call_just_allowed_does_not_spend_a_second_approval(
    pls_for, httpserver
):
    httpserver.expect_oneshot_request(VERDICTS, method="POST").respond_with_json(verdict("allowed"))
    pls = pls_for(url=url(httpserver))
    call = {"command": "rm -rf node_modules", "description": "Remove node_modules directory"}

    pls.hook("claude-code", sample("claude_code", "pre_tool_use", tool_input=call))
    prompt = pls.hook("claude-code", sample("claude_code", "permission_request"))
    # Used once: a second prompt for the same call asks the console (which now fails: 500).
    again = pls.hook("claude-code", sample("claude_code", "permission_request"))

    assert prompt.json()["hookSpecificOutput"]["decision"] == {"behavior": "allow"}
    assert len([r for r, _ in httpserver.log if r.path == VERDICTS]) == 2
    assert again.json()["hookSpecificOutput"]["decision"]["behavior"] == "deny"


def test_a_503_is_retried_after_its_retry_after_with_the_same_idempotency_key(pls_for, httpserver):
    httpserver.expect_oneshot_request(VERDICTS, method="POST").respond_with_json(
        {"title": "Service Unavailable", "status": 503}, status=503, headers={"Retry-After": "1"}
    )
    httpserver.expect_request(VERDICTS, method="POST").respond_with_json(verdict("allowed"))
    pls = pls_for(url=url(httpserver))

    started = time.monotonic()
    result = pls.hook("claude-code", sample("claude_code", "pre_tool_use"))

    assert time.monotonic() - started >= 1
    assert result.json()["hookSpecificOutput"]["permissionDecision"] == "allow"
    first, second = (request.headers["Idempotency-Key"] for request, _ in httpserver.log)
    assert first == second


def test_stop_prefers_the_consoles_held_job_guards(pls_for, httpserver):
    httpserver.expect_request("/api/v1/workers/me").respond_with_json(
        {
            "name": "codex-9",
            "held_jobs": ["J-1"],
            "held_job_guards": [
                {
                    "job": "J-1",
                    "status": "claimed",
                    "artifact_check": {"id": 5, "status": "passed"},
                    "may_complete": True,
                }
            ],
        }
    )
    pls = pls_for(url=url(httpserver))

    result = pls.hook("claude-code", sample("claude_code", "stop", stop_hook_active=False))

    # Working it out here would have asked for /jobs/J-1, which this server does not serve.
    assert (result.code, result.stdout) == (0, ""), result.stderr
    assert [request.path for request, _ in httpserver.log] == ["/api/v1/workers/me"]
