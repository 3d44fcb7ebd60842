"""The rulings in each agent's words: stdout JSON and the exit code, per its hook reference.

Claude Code (https://code.claude.com/docs/en/hooks): PreToolUse answers with
``hookSpecificOutput.permissionDecision`` allow / deny; PermissionRequest with
``hookSpecificOutput.decision.behavior`` (exit 2 does not deny there, so a refusal is always
the JSON); Stop with ``{"decision": "block", "reason"}``; SessionStart and PostToolUseFailure
with ``hookSpecificOutput.additionalContext``; exit 2 blocks with stderr as the reason, and
any other non-zero exit lets the call run, so nothing here exits 1 where that would fail open.

Codex (https://developers.openai.com/codex/hooks): the same shapes, but PreToolUse honours
only a deny (``permissionDecision: "allow"`` without ``updatedInput`` is a failed hook, and
the call runs), so an allow is silence with exit 0; Codex has no PostToolUseFailure.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pls_client.api import PlsApi
from pls_client.config import Config
from pls_client.errors import PlsError
from pls_client.hooks import rulings
from pls_client.hooks.payload import ToolCall
from pls_client.i18n import _

TOOL_EVENTS = frozenset({"PreToolUse", "PermissionRequest", "PostToolUseFailure"})


@dataclass(frozen=True)
class Answer:
    stdout: dict[str, Any] | None = None
    stderr: str = ""
    code: int = 0


@dataclass(frozen=True)
class Agent:
    key: str  # the console's name for it, in tool-verdict requests
    label: str
    events: tuple[str, ...]
    silent_allow: bool  # Codex: PreToolUse says "allow" by exiting 0 with no output


CLAUDE_CODE = Agent(
    key="claude_code",
    label="Claude Code",
    events=("SessionStart", "PreToolUse", "PermissionRequest", "PostToolUseFailure", "Stop"),
    silent_allow=False,
)
CODEX = Agent(
    key="codex",
    label="Codex",
    events=("SessionStart", "PreToolUse", "PermissionRequest", "Stop"),
    silent_allow=True,
)
AGENTS = {"claude-code": CLAUDE_CODE, "codex": CODEX}


@dataclass(frozen=True)
class Context:
    agent: Agent
    api: PlsApi
    config: Config
    event: dict[str, Any]
    call: ToolCall | None


def unknown_event(agent: Agent, name: str) -> Answer:
    return Answer(
        stderr=_(
            "pls hook: {agent} event {name!r} is not one PLS answers ({known}); blocked. "
            "Configure `pls hook` only for those events (`pls hook install`)."
        ).format(agent=agent.label, name=name, known=", ".join(agent.events)),
        code=2,
    )


def fail_closed(event_name: str, reason: str, *, stop_hook_active: bool = False) -> Answer:
    """The answer when PLS cannot rule at all (bad input, no configuration, a crash)."""
    if event_name == "PermissionRequest":
        return _permission(allow=False, message=reason, stderr=reason)
    if event_name == "Stop":
        return _stop(rulings.stop_blocked([reason], stop_hook_active=stop_hook_active))
    return Answer(stderr=reason, code=2)


# Event handlers --------------------------------------------------------------------------------


def pre_tool_use(ctx: Context) -> Answer:
    assert ctx.call is not None
    ruling = rulings.rule_on(ctx.api, ctx.config, ctx.call)
    if ruling.outcome == "allow":
        rulings.remember_allow(ctx.call)
        if ctx.agent.silent_allow:
            return Answer()
        return Answer(_pre_tool_use_output("allow", ruling.reason))
    if ruling.outcome == "deny":
        return Answer(_pre_tool_use_output("deny", ruling.reason))
    return _unavailable(ctx, ruling, blocked=lambda reason: Answer(stderr=reason, code=2))


def permission_request(ctx: Context) -> Answer:
    assert ctx.call is not None
    if rulings.take_recent_allow(ctx.call):
        return _permission(allow=True)
    ruling = rulings.rule_on(ctx.api, ctx.config, ctx.call)
    if ruling.outcome == "allow":
        return _permission(allow=True)
    if ruling.outcome == "deny":
        return _permission(allow=False, message=ruling.reason)
    # A fail-open tool gets no decision: the agent asks its person, as without PLS.
    return _unavailable(
        ctx, ruling, blocked=lambda reason: _permission(allow=False, message=reason, stderr=reason)
    )


def post_tool_use_failure(ctx: Context) -> Answer:
    assert ctx.call is not None
    if ctx.event.get("is_interrupt"):
        return Answer()  # the person stopped it: not a failure to learn from
    error = ctx.event.get("error")
    try:
        event = rulings.report_failure(ctx.api, ctx.call, error if isinstance(error, str) else "")
    except PlsError as problem:
        # The tool already failed; this only loses the report (exit 1: non-blocking).
        return Answer(
            stderr=_("PLS: could not record the failure: {problem}").format(problem=problem), code=1
        )
    context = _(
        "PLS recorded this failure as repair event #{id} (seen {count}x across the fleet in "
        "the window{proposal})."
    ).format(
        id=event.get("id"),
        count=event.get("repeat_count"),
        proposal=_("; repair proposal #{id}").format(id=event["proposal"])
        if event.get("proposal")
        else "",
    )
    return Answer(_specific("PostToolUseFailure", additionalContext=context))


def stop(ctx: Context) -> Answer:
    return _stop(
        rulings.stop_ruling(ctx.api, stop_hook_active=bool(ctx.event.get("stop_hook_active")))
    )


def session_start(ctx: Context) -> Answer:
    try:
        pack = rulings.session_context(ctx.api)
    except PlsError as problem:
        # A session without its prompt pack still runs; say why (exit 1: non-blocking).
        return Answer(
            stderr=_("PLS: no prompt pack for this session: {problem}").format(problem=problem),
            code=1,
        )
    return Answer(_specific("SessionStart", additionalContext=pack))


HANDLERS: dict[str, Callable[[Context], Answer]] = {
    "PreToolUse": pre_tool_use,
    "PermissionRequest": permission_request,
    "PostToolUseFailure": post_tool_use_failure,
    "Stop": stop,
    "SessionStart": session_start,
}


# The agents' shapes -----------------------------------------------------------------------------


def _specific(event_name: str, **fields: Any) -> dict[str, Any]:
    return {"hookSpecificOutput": {"hookEventName": event_name, **fields}}


def _pre_tool_use_output(decision: str, reason: str) -> dict[str, Any]:
    return _specific("PreToolUse", permissionDecision=decision, permissionDecisionReason=reason)


def _permission(*, allow: bool, message: str = "", stderr: str = "") -> Answer:
    decision: dict[str, Any] = {"behavior": "allow" if allow else "deny"}
    if not allow:
        decision["message"] = message
    return Answer(_specific("PermissionRequest", decision=decision), stderr=stderr)


def _stop(ruling: rulings.StopRuling) -> Answer:
    if ruling.block:
        return Answer({"decision": "block", "reason": ruling.reason})
    if ruling.warning:
        return Answer({"systemMessage": ruling.warning})
    return Answer()


def _unavailable(
    ctx: Context, ruling: rulings.Ruling, *, blocked: Callable[[str], Answer]
) -> Answer:
    assert ctx.call is not None
    fail_open = ctx.config.fail_open_for(ctx.agent.key)
    if ctx.call.tool_name in fail_open:
        return Answer(
            stderr=_("PLS could not be reached ({reason}); {tool} runs: it fails open.").format(
                reason=ruling.reason, tool=ctx.call.tool_name
            )
        )
    return blocked(rulings.unavailable_reason(ctx.call, ruling.reason, fail_open))
