"""The hooks fail closed: when PLS cannot judge a tool call (no answer, a 5xx, input it cannot
read), the call is blocked, except the read-only tools named in PLS_FAIL_OPEN_TOOLS."""

import json

from tests.client.conftest import closed_port_url, sample


def test_when_the_console_is_down_a_bash_call_is_blocked_with_exit_2_and_the_reason(pls_for):
    pls = pls_for(url=closed_port_url())

    claude = pls.hook("claude-code", sample("claude_code", "pre_tool_use"))
    codex = pls.hook("codex", sample("codex", "pre_tool_use"))

    for result in (claude, codex):
        assert result.code == 2
        assert result.stdout == ""
        assert result.stderr.startswith("PLS could not judge this Bash call")
        assert "did not answer" in result.stderr
        assert len(result.stderr.splitlines()) == 1  # the reason alone: no retry log lines


def test_when_the_console_is_down_the_read_only_tools_fail_open(pls_for):
    pls = pls_for(url=closed_port_url())
    read = sample(
        "claude_code",
        "pre_tool_use",
        tool_name="Read",
        tool_input={"file_path": "/path/to/file.txt"},
    )
    list_dir = sample("codex", "pre_tool_use", tool_name="list_dir", tool_input={"path": "."})

    claude = pls.hook("claude-code", read)
    codex = pls.hook("codex", list_dir)

    assert (claude.code, claude.stdout) == (0, "")
    assert (codex.code, codex.stdout) == (0, "")
    assert "fails open" in claude.stderr


def test_pls_fail_open_tools_replaces_the_read_only_defaults(pls_for):
    pls = pls_for(url=closed_port_url(), PLS_FAIL_OPEN_TOOLS="Bash")
    read = sample(
        "claude_code",
        "pre_tool_use",
        tool_name="Read",
        tool_input={"file_path": "/path/to/file.txt"},
    )

    assert pls.hook("claude-code", sample("claude_code", "pre_tool_use")).code == 0
    blocked = pls.hook("claude-code", read)
    assert blocked.code == 2 and "Tools that may run while PLS cannot be reached: Bash" in (
        blocked.stderr
    )


def test_a_server_error_blocks_like_no_answer(pls_for, httpserver):
    httpserver.expect_request("/api/v1/tool-verdicts", method="POST").respond_with_json(
        {"type": "about:blank", "title": "Internal Server Error", "status": 500}, status=500
    )
    pls = pls_for(url=httpserver.url_for("").rstrip("/"))

    result = pls.hook("claude-code", sample("claude_code", "pre_tool_use"))

    assert result.code == 2
    assert "500 Internal Server Error" in result.stderr


def test_a_permission_request_is_denied_in_json_when_the_console_is_down(pls_for):
    # Claude Code ignores exit 2 from a PermissionRequest hook: only the decision denies.
    pls = pls_for(url=closed_port_url())

    for agent in ("claude_code", "codex"):
        result = pls.hook(agent.replace("_", "-"), sample(agent, "permission_request"))

        assert result.code == 0
        decision = result.json()["hookSpecificOutput"]
        assert decision["hookEventName"] == "PermissionRequest"
        assert decision["decision"]["behavior"] == "deny"
        assert "PLS could not judge this Bash call" in decision["decision"]["message"]


def test_stop_is_blocked_when_the_console_cannot_confirm_the_held_jobs(pls_for):
    pls = pls_for(url=closed_port_url())

    result = pls.hook("claude-code", sample("claude_code", "stop", stop_hook_active=False))

    assert result.code == 0
    assert result.json()["decision"] == "block"
    assert "PLS cannot confirm your held jobs may complete" in result.json()["reason"]


def test_malformed_json_on_stdin_is_refused_with_exit_2(pls_for):
    pls = pls_for(url=closed_port_url())

    for agent in ("claude-code", "codex"):
        result = pls.hook(agent, '{"hook_event_name": "PreToolUse", "tool_name": ')

        assert result.code == 2
        assert "not valid JSON" in result.stderr


def test_input_without_an_event_name_or_a_tool_is_refused(pls_for):
    pls = pls_for(url=closed_port_url())

    no_event = pls.hook("claude-code", {"tool_name": "Bash", "tool_input": {}})
    no_tool = pls.hook("codex", {"hook_event_name": "PreToolUse", "tool_input": {}})

    assert no_event.code == 2 and "no hook_event_name" in no_event.stderr
    assert no_tool.code == 2 and "no tool_name" in no_tool.stderr


def test_an_unknown_event_is_refused_naming_the_events_pls_answers(pls_for):
    pls = pls_for(url=closed_port_url())

    claude = pls.hook(
        "claude-code", sample("claude_code", "session_start", hook_event_name="Notification")
    )
    # Codex has no PostToolUseFailure: its failed tools arrive in PostToolUse.
    codex = pls.hook("codex", sample("claude_code", "post_tool_use_failure"))

    assert claude.code == 2 and "'Notification' is not one PLS answers" in claude.stderr
    assert codex.code == 2 and "'PostToolUseFailure' is not one PLS answers" in codex.stderr


def test_an_unknown_agent_is_a_usage_error(pls_for):
    result = pls_for(url=closed_port_url()).hook("gemini", sample("claude_code", "pre_tool_use"))

    assert result.code == 2
    assert "invalid choice: 'gemini'" in result.stderr


def test_a_tool_input_over_1_mib_is_blocked_before_asking_the_console(pls_for, httpserver):
    pls = pls_for(url=httpserver.url_for("").rstrip("/"))
    write = sample(
        "claude_code",
        "pre_tool_use",
        tool_name="Write",
        tool_input={"file_path": "/home/user/my-project/big.txt", "content": "x" * (1024 * 1024)},
    )

    result = pls.hook("claude-code", write)

    assert result.code == 2
    assert "over the 1 MiB PLS judges" in result.stderr
    assert httpserver.log == []


def test_without_configuration_every_call_is_blocked_and_says_what_to_set(pls_for):
    pls = pls_for(url="")

    result = pls.hook("claude-code", sample("claude_code", "pre_tool_use"))

    assert result.code == 2
    assert "PLS_URL" in result.stderr


def test_a_refusal_from_the_console_denies_with_its_problem(pls_for, httpserver):
    httpserver.expect_request("/api/v1/tool-verdicts", method="POST").respond_with_data(
        json.dumps(
            {
                "type": "https://pls-ops-console.dev/problems/not-authenticated",
                "title": "Not authenticated",
                "status": 401,
                "detail": "Unknown or revoked token.",
            }
        ),
        status=401,
        content_type="application/problem+json",
    )
    pls = pls_for(url=httpserver.url_for("").rstrip("/"))

    result = pls.hook("claude-code", sample("claude_code", "pre_tool_use"))

    assert result.code == 0
    output = result.json()["hookSpecificOutput"]
    assert output["permissionDecision"] == "deny"
    assert "401 Not authenticated: Unknown or revoked token." in output["permissionDecisionReason"]
