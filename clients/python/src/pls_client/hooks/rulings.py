"""What PLS says at each hook point, whichever agent asks: a tool call's ruling (after
waiting for a reviewer when it needs approval), whether the agent may stop, the session's
prompt pack and the report of a failed tool. The agent modules only put these into their
agent's words."""

import hashlib
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pls_client import operations
from pls_client.api import PlsApi
from pls_client.config import Config, state_dir
from pls_client.errors import PlsError, ProblemAnswer, ServerUnavailable
from pls_client.hooks.payload import ToolCall
from pls_client.i18n import _

# An allow that PreToolUse received is honoured when the agent then raises a permission
# prompt for the same call (Claude Code with an "ask" rule, Codex's sandbox escalation):
# asking the console again would spend a one-call approval twice.
RECENT_ALLOW_SECONDS = 600
MESSAGE_MAX = 4000


@dataclass(frozen=True)
class Ruling:
    """``allow`` or ``deny`` with the reason for the agent; ``unavailable`` when the console
    could not judge (no answer, a 5xx): the call is blocked unless its tool fails open."""

    outcome: Literal["allow", "deny", "unavailable"]
    reason: str


def unavailable_reason(call: ToolCall, error: str, fail_open: frozenset[str]) -> str:
    tools = ", ".join(sorted(fail_open)) or _("none")
    return _(
        "PLS could not judge this {tool} call ({error}). Blocked: the PLS hooks fail closed. "
        "Tools that may run while PLS cannot be reached: {tools} (PLS_FAIL_OPEN_TOOLS)."
    ).format(tool=call.tool_name, error=error, tools=tools)


def rule_on(api: PlsApi, cfg: Config, call: ToolCall) -> Ruling:
    """The console's verdict on ``call``; a ``needs_approval`` verdict is waited on for up to
    ``cfg.approval_wait_seconds`` and, once approved, asked again (the console then allows
    that call once)."""
    body = call.verdict_request()
    try:
        answer = api.post("tool-verdicts", body)
        if answer.get("verdict") == "needs_approval":
            return _await_approval(api, cfg, call, body, answer)
        return _from_verdict(call, answer)
    except ServerUnavailable as error:
        return Ruling("unavailable", str(error))
    except ProblemAnswer as problem:
        if problem.server_fault:
            return Ruling("unavailable", str(problem))
        return Ruling(
            "deny",
            _("PLS refused to judge this {tool} call: {problem}").format(
                tool=call.tool_name, problem=problem
            ),
        )
    except PlsError as error:
        return Ruling("deny", str(error))


def _from_verdict(call: ToolCall, answer: dict[str, Any]) -> Ruling:
    verdict = answer.get("verdict")
    details = _("rule {rule}, policy v{version}, decision #{decision}").format(
        rule=answer.get("rule") or "-",
        version=answer.get("policy_version"),
        decision=answer.get("decision_id"),
    )
    judged = _("{action} on {target}").format(
        action=answer.get("action") or "-", target=answer.get("target") or "-"
    )
    if verdict == "allowed":
        return Ruling(
            "allow",
            _("PLS allowed this {tool} call as {judged}: {reason} ({details}).").format(
                tool=call.tool_name, judged=judged, reason=answer.get("reason", ""), details=details
            ),
        )
    if verdict == "denied":
        return Ruling(
            "deny",
            _("PLS denied this {tool} call as {judged}: {reason} ({details}).").format(
                tool=call.tool_name, judged=judged, reason=answer.get("reason", ""), details=details
            ),
        )
    return Ruling(
        "deny", _("PLS answered an unknown verdict {verdict!r}; blocked.").format(verdict=verdict)
    )


def _await_approval(
    api: PlsApi, cfg: Config, call: ToolCall, body: dict[str, Any], answer: dict[str, Any]
) -> Ruling:
    request = answer.get("self_heal_request") or {}
    request_id = request.get("id")
    if not request_id:
        return Ruling("deny", _("PLS says this call needs approval but opened no request."))
    if request.get("status", "pending") == "pending" and cfg.approval_wait_seconds > 0:
        request = operations.request_wait(api, request_id, seconds=cfg.approval_wait_seconds)
    status = request.get("status", "pending")
    if status == "approved":
        # A new question (a new idempotency key): the console now allows the call once.
        again = api.post("tool-verdicts", body)
        ruling = _from_verdict(call, again)
        if ruling.outcome == "allow":
            return Ruling(
                "allow",
                _("PLS allowed this {tool} call once, approved in self-heal request #{id}.").format(
                    tool=call.tool_name, id=request_id
                ),
            )
        return ruling
    if status == "pending":
        return Ruling(
            "deny",
            _(
                "PLS: this {tool} call needs approval ({reason}). Self-heal request #{id} waits "
                "for the {role} (expires {expires}). Do not work around it: retry this identical "
                "call once the request is approved (`pls request {id}` shows its status)."
            ).format(
                tool=call.tool_name,
                reason=answer.get("reason", ""),
                id=request_id,
                role=request.get("approver_role") or _("reviewer"),
                expires=request.get("expires_at") or "-",
            ),
        )
    return Ruling(
        "deny",
        _(
            "PLS: self-heal request #{id} for this {tool} call was {status}{note}. Do not retry it."
        ).format(
            id=request_id,
            tool=call.tool_name,
            status=status,
            note=f": {request['note']}" if request.get("note") else "",
        ),
    )


# A recently allowed call, remembered between two hook processes -----------------------------


def _allow_marker(call: ToolCall) -> Path:
    digest = hashlib.sha256(
        "\x1f".join((call.agent, call.session_id, call.tool_name, call.canonical_input())).encode()
    ).hexdigest()
    return state_dir() / "allowed-calls" / digest


def remember_allow(call: ToolCall) -> None:
    marker = _allow_marker(call)
    try:
        marker.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        marker.touch()
    except OSError:
        pass  # only an optimisation: without it the console is asked again


def take_recent_allow(call: ToolCall) -> bool:
    """Whether PreToolUse allowed this very call in the last RECENT_ALLOW_SECONDS (used once)."""
    marker = _allow_marker(call)
    try:
        fresh = time.time() - marker.stat().st_mtime < RECENT_ALLOW_SECONDS
        marker.unlink()
    except OSError:
        return False
    return fresh


# Stop, SessionStart, PostToolUseFailure --------------------------------------------------------


@dataclass(frozen=True)
class StopRuling:
    block: bool
    reason: str = ""
    warning: str = ""


def stop_ruling(api: PlsApi, *, stop_hook_active: bool) -> StopRuling:
    """Whether the agent may stop: not while a job it holds may not complete (its latest
    artifact check has not passed), nor while the console cannot say (fail closed). When the
    agent is already continuing because of this hook (``stop_hook_active``), it is warned
    instead of blocked again, so the two cannot loop."""
    try:
        guards = operations.held_job_guards(api)
        blockers = [guard.blocker() for guard in guards if not guard.may_complete]
    except PlsError as error:
        blockers = [
            _("PLS cannot confirm your held jobs may complete ({error})").format(error=error)
        ]
    return stop_blocked(blockers, stop_hook_active=stop_hook_active)


def stop_blocked(blockers: list[str], *, stop_hook_active: bool) -> StopRuling:
    if not blockers:
        return StopRuling(block=False)
    text = _(
        "PLS: do not stop yet: {blockers}. Complete a job (`pls complete JOB`) once its check "
        "passed, or release it (`pls release JOB`)."
    ).format(blockers="; ".join(blockers))
    if stop_hook_active:
        again = _("(Stopping anyway: the Stop hook already sent the agent back once.)")
        return StopRuling(block=False, warning=f"{text} {again}")
    return StopRuling(block=True, reason=text)


def session_context(api: PlsApi) -> str:
    """The team's prompt pack, for the new session's context."""
    return api.text("learning/prompt-pack", accept="text/markdown")


def report_failure(api: PlsApi, call: ToolCall, error: str) -> dict[str, Any]:
    """Records a failed tool call as a repair event (the console redacts and fingerprints
    it); repeats of one failure across the fleet raise a repair proposal."""
    slug = re.sub(r"[^a-z0-9]+", "_", call.tool_name.lower()).strip("_")[:80] or "tool"
    first_line = next((line for line in error.splitlines() if line.strip()), error)[:500]
    command = call.tool_input.get("command")
    message = _("{tool} failed: {error}").format(tool=call.tool_name, error=first_line)
    if isinstance(command, str) and command:
        message += _(" (running `{command}`)").format(command=command[:1000])
    held = api.get("workers/me").get("held_jobs") or []
    body = {
        "gate": "repair_suggested",
        "error_class": f"tool_{slug}_failed",
        "phase": call.tool_name[:200],
        "action": "diagnose",
        "message": message[:MESSAGE_MAX],
        "evidence": error,
    }
    if held:
        body["job"] = held[0]
    key = None
    if call.tool_use_id:
        seed = "\x1f".join((call.agent, call.session_id, call.tool_use_id))
        key = "pls-hook-" + hashlib.sha256(seed.encode()).hexdigest()[:40]
    return api.post("worker-repair-events", body, idempotency_key=key)
