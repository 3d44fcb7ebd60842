"""``pls hook install claude-code|codex``: the hook configuration to paste, on stdout (and
only it, so it can be piped into a file or a JSON/TOML tool); where to paste it, on stderr.
Nothing is edited."""

import json
import shlex
import sys
from pathlib import Path
from typing import Any

import tomli_w

from pls_client import config
from pls_client.errors import ConfigError
from pls_client.i18n import _

# Generous, so the agent does not kill a hook that is still retrying or waiting for a
# reviewer: a killed hook counts as failed, and both agents then let the tool call run.
SPARE_SECONDS = 30


def pls_command() -> str:
    """How the agent should run this very ``pls``: its absolute path (agents run hooks with
    their own PATH), or this interpreter with ``-m pls_client``."""
    script = Path(sys.argv[0])
    if script.name == "pls" and script.exists():
        return shlex.quote(str(script.absolute()))
    return f"{shlex.quote(sys.executable)} -m pls_client"


def _timeouts() -> tuple[int, int]:
    try:
        cfg = config.load()
    except ConfigError:
        cfg = config.Config()
    quick = int(cfg.retry_seconds + cfg.timeout_seconds) + SPARE_SECONDS
    judging = quick + int(cfg.approval_wait_seconds)
    return quick, judging


def claude_code_settings(command: str) -> dict[str, Any]:
    """The ``hooks`` block of Claude Code's settings.json (~/.claude/settings.json or the
    project's .claude/settings.json)."""
    quick, judging = _timeouts()

    def handler(timeout: int) -> list[dict[str, Any]]:
        return [{"type": "command", "command": f"{command} hook claude-code", "timeout": timeout}]

    return {
        "hooks": {
            "SessionStart": [{"matcher": "startup|resume|clear|compact", "hooks": handler(quick)}],
            "PreToolUse": [{"matcher": "*", "hooks": handler(judging)}],
            "PermissionRequest": [{"matcher": "*", "hooks": handler(judging)}],
            "PostToolUseFailure": [{"matcher": "*", "hooks": handler(quick)}],
            "Stop": [{"hooks": handler(quick)}],
        }
    }


def codex_hooks(command: str) -> dict[str, Any]:
    """Codex's hooks.json (~/.codex/hooks.json or <repo>/.codex/hooks.json); the same tables
    go under ``[hooks]`` in config.toml."""
    quick, judging = _timeouts()

    def handler(timeout: int, status: str, **extra: Any) -> list[dict[str, Any]]:
        return [
            {
                "type": "command",
                "command": f"{command} hook codex",
                "timeout": timeout,
                "statusMessage": status,
                **extra,
            }
        ]

    return {
        "hooks": {
            "SessionStart": [
                {
                    "matcher": "startup|resume|clear|compact",
                    # The prompt pack may be longer than Codex's default 2,500-token preview.
                    "hooks": handler(
                        quick, "Loading the PLS prompt pack", additionalContextLimit=8000
                    ),
                }
            ],
            "PreToolUse": [{"matcher": "*", "hooks": handler(judging, "Asking PLS for a verdict")}],
            "PermissionRequest": [
                {"matcher": "*", "hooks": handler(judging, "Asking PLS about this approval")}
            ],
            "Stop": [{"hooks": handler(quick, "Checking held jobs with PLS")}],
        }
    }


def print_configuration(agent: str | None, *, fmt: str = "json") -> int:
    if agent not in ("claude-code", "codex"):
        print(_("usage: pls hook install claude-code|codex [--format json|toml]"), file=sys.stderr)
        return 2
    command = pls_command()
    if agent == "claude-code":
        if fmt != "json":
            print(_("Claude Code reads its hooks from JSON settings only."), file=sys.stderr)
            return 2
        print(json.dumps(claude_code_settings(command), indent=2))
        where = _(
            "Merge this into ~/.claude/settings.json (every project) or .claude/settings.json "
            "(one project); keep any hooks you already have."
        )
    elif fmt == "toml":
        print(tomli_w.dumps(codex_hooks(command)), end="")
        where = _("Add this to ~/.codex/config.toml or <repo>/.codex/config.toml.")
    else:
        print(json.dumps(codex_hooks(command), indent=2))
        where = _(
            "Save this as ~/.codex/hooks.json or <repo>/.codex/hooks.json, then trust the hooks "
            "in Codex with /hooks."
        )
    print(
        where
        + " "
        + _("The hooks read PLS_URL and PLS_TOKEN from the agent's environment or {path}.").format(
            path=config.config_path()
        ),
        file=sys.stderr,
    )
    return 0
