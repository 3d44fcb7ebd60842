"""Reading an agent's hook event from stdin, refusing what cannot be judged: malformed JSON,
an event without a name, a tool call without a tool or with an input over 1 MiB (the
console's own request limit: such a call could never be judged, so it is not let through)."""

import json
from dataclasses import dataclass
from typing import IO, Any

from pls_client.i18n import _

MAX_STDIN_BYTES = 16 * 1024 * 1024
MAX_TOOL_INPUT_BYTES = 1024 * 1024


class BadHookInput(Exception):
    """The hook's input cannot be judged; the hook fails closed with this message."""


@dataclass(frozen=True)
class ToolCall:
    """One tool call as the agent described it, in the console's words."""

    agent: str  # "claude_code" or "codex"
    tool_name: str
    tool_input: dict[str, Any]
    tool_use_id: str
    session_id: str
    cwd: str

    def canonical_input(self) -> str:
        """The input as one canonical JSON text (sorted keys, no spaces)."""
        return canonical_json(self.tool_input)

    def verdict_request(self) -> dict[str, Any]:
        """The body of ``POST /api/v1/tool-verdicts``."""
        body: dict[str, Any] = {
            "tool_name": self.tool_name,
            "tool_input": self.tool_input,
            "agent": self.agent,
        }
        for key in ("session_id", "tool_use_id", "cwd"):
            if getattr(self, key):
                body[key] = getattr(self, key)
        return body


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def read_event(stream: IO[bytes]) -> dict[str, Any]:
    """The hook event on ``stream``: a JSON object with a ``hook_event_name``."""
    data = stream.read(MAX_STDIN_BYTES + 1)
    if len(data) > MAX_STDIN_BYTES:
        raise BadHookInput(
            _("The hook input is over {limit} MiB; refusing to judge it.").format(
                limit=MAX_STDIN_BYTES // (1024 * 1024)
            )
        )
    try:
        event = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadHookInput(
            _("The hook input on stdin is not valid JSON ({error}).").format(error=error)
        ) from None
    if not isinstance(event, dict):
        raise BadHookInput(_("The hook input on stdin is not a JSON object."))
    if not isinstance(event.get("hook_event_name"), str) or not event["hook_event_name"]:
        raise BadHookInput(_("The hook input has no hook_event_name."))
    return event


def tool_call(event: dict[str, Any], *, agent: str) -> ToolCall:
    """The tool call in a PreToolUse, PermissionRequest or PostToolUseFailure event."""
    name = event.get("tool_name")
    if not isinstance(name, str) or not name.strip():
        raise BadHookInput(_("The hook input has no tool_name."))
    tool_input = event.get("tool_input", {})
    if not isinstance(tool_input, dict):
        # Codex documents tool_input as "a JSON value"; the console judges objects.
        tool_input = {"input": tool_input}
    size = len(canonical_json(tool_input).encode("utf-8"))
    if size > MAX_TOOL_INPUT_BYTES:
        raise BadHookInput(
            _(
                "The {tool} call's tool_input is {size} bytes, over the 1 MiB PLS judges; "
                "it is blocked. Split the change into smaller calls."
            ).format(tool=name, size=size)
        )
    return ToolCall(
        agent=agent,
        tool_name=name,
        tool_input=tool_input,
        tool_use_id=_text(event.get("tool_use_id")),
        session_id=_text(event.get("session_id")),
        cwd=_text(event.get("cwd")),
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
