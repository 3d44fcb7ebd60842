"""``pls hook install`` prints configuration the agents accept, and edits nothing."""

import json
import tomllib

from tests.client.conftest import PLS


def test_claude_code_settings_are_valid_json_wiring_every_event_to_this_pls(pls_for, tmp_path):
    pls = pls_for(url="")

    result = pls("hook", "install", "claude-code")

    assert result.code == 0, result.stderr
    hooks = json.loads(result.stdout)["hooks"]
    assert set(hooks) == {
        "SessionStart",
        "PreToolUse",
        "PermissionRequest",
        "PostToolUseFailure",
        "Stop",
    }
    for groups in hooks.values():
        (handler,) = groups[0]["hooks"]
        assert handler["type"] == "command"
        assert handler["command"] == f"{PLS} hook claude-code"
        assert handler["timeout"] > 5 + 10  # PLS_RETRY_SECONDS + PLS_TIMEOUT_SECONDS
    assert hooks["PreToolUse"][0]["matcher"] == "*"
    assert "settings.json" in result.stderr
    assert not (tmp_path / ".claude").exists()


def test_codex_hooks_json_and_config_toml_say_the_same(pls_for):
    pls = pls_for(url="")

    as_json = pls("hook", "install", "codex")
    as_toml = pls("hook", "install", "codex", "--format", "toml")

    assert as_json.code == 0 and as_toml.code == 0
    hooks = json.loads(as_json.stdout)
    assert tomllib.loads(as_toml.stdout) == hooks
    assert set(hooks["hooks"]) == {"SessionStart", "PreToolUse", "PermissionRequest", "Stop"}
    session = hooks["hooks"]["SessionStart"][0]["hooks"][0]
    assert session["command"] == f"{PLS} hook codex"
    assert session["additionalContextLimit"] > 2500


def test_the_timeouts_leave_room_for_the_approval_wait(pls_for):
    pls = pls_for(url="", PLS_APPROVAL_WAIT_SECONDS="300")

    hooks = json.loads(pls("hook", "install", "claude-code").stdout)["hooks"]

    assert hooks["PreToolUse"][0]["hooks"][0]["timeout"] > 300


def test_claude_code_has_no_toml_settings(pls_for):
    result = pls_for(url="")("hook", "install", "claude-code", "--format", "toml")

    assert result.code == 2 and result.stdout == ""
