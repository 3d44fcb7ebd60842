"""``pls``: a worker's commands against the console, plus ``pls hook`` and ``pls mcp``.

Every command prints a short summary, or with ``--json`` the console's answer as it came.
A failure exits 1 with the problem document's title and detail on stderr; a usage error
exits 2 (argparse's code, which the agents also read as "blocked")."""

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pls_client import __version__, config, operations
from pls_client.api import PlsApi
from pls_client.errors import PlsError
from pls_client.i18n import _
from pls_client.operations import job_path

CHECK_WAIT_SECONDS = 120.0
GATES = ("stuck_claim", "repair_suggested", "artifact_guard", "worker_learning", "friction")


class Output:
    """Where a command's answer goes: the summary for people, or the raw JSON."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def answer(self, raw: Any, summary: str) -> None:
        if self.as_json:
            if raw is not None:
                print(json.dumps(raw, indent=2, ensure_ascii=False))
        elif summary:
            print(summary)


Command = Callable[[argparse.Namespace, PlsApi, Output], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "hook":
        from pls_client.hooks import run

        return run(args)
    if args.command == "mcp":
        from pls_client.mcp_server import serve

        return serve(url=args.url)
    out = Output(args.json)
    try:
        cfg = config.load(url=args.url)
        with PlsApi(cfg) as api:
            return int(args.handler(args, api, out))
    except PlsError as error:
        print(_("pls: {error}").format(error=error), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`pls … | head`): no traceback, and no second error at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


# Commands ------------------------------------------------------------------------------------


def cmd_report(args: argparse.Namespace, api: PlsApi, out: Output) -> int:
    body = {
        key: value
        for key, value in {
            "gate": args.gate,
            "error_class": args.error_class,
            "job": args.job,
            "phase": args.phase,
            "action": args.action,
            "target": args.target,
            "message": args.message,
            "evidence": _evidence(args),
            "callback_url": args.callback_url,
            "outcome": args.outcome,
            "lesson": args.lesson,
            "fix": args.fix,
            "next_round_priority": args.priority,
        }.items()
        if value not in (None, "")
    }
    event = api.post("worker-repair-events", body, idempotency_key=args.idempotency_key)
    out.answer(event, describe_event(event))
    return 0


def describe_event(event: dict[str, Any]) -> str:
    lines = [
        _(
            "Event #{id} ({error_class}, fingerprint {fingerprint}, seen {count}x in the window)"
        ).format(
            id=event.get("id"),
            error_class=event.get("error_class"),
            fingerprint=str(event.get("fingerprint", ""))[:12],
            count=event.get("repeat_count"),
        )
    ]
    verdict = event.get("verdict")
    if verdict:
        lines.append(_("Verdict on {action}: {decision} ({rung}) - {reason}").format(**verdict))
    if event.get("self_heal_request"):
        lines.append(
            _("Self-heal request #{id} waits for approval: `pls request {id} --wait 600`.").format(
                id=event["self_heal_request"]
            )
        )
    if event.get("proposal"):
        lines.append(_("Counted on repair proposal #{id}.").format(id=event["proposal"]))
    return "\n".join(lines)


def cmd_claim_next(args: argparse.Namespace, api: PlsApi, out: Output) -> int:
    job = api.post("jobs/claim-next")
    out.answer(job, describe_job(job) if job else _("No open job to claim."))
    return 0


def cmd_claim(args: argparse.Namespace, api: PlsApi, out: Output) -> int:
    job = api.post(job_path(args.job, "claim"))
    out.answer(job, describe_job(job))
    return 0


def cmd_heartbeat(args: argparse.Namespace, api: PlsApi, out: Output) -> int:
    body = {"progress": args.progress} if args.progress is not None else {}
    job = api.post(job_path(args.job, "heartbeat"), body)
    out.answer(job, describe_job(job))
    return 0


def describe_job(job: dict[str, Any]) -> str:
    line = _("{id}: {status}, held by {holder}, lease until {lease}").format(
        id=job.get("external_id"),
        status=job.get("status"),
        holder=job.get("holder") or "-",
        lease=job.get("lease_expires_at") or "-",
    )
    return f"{line}; {job['progress']}" if job.get("progress") else line


def cmd_release(args: argparse.Namespace, api: PlsApi, out: Output) -> int:
    body = {
        "message": args.message or "",
        "evidence": _evidence(args) or "",
        "callback_url": args.callback_url or "",
    }
    action = api.post(job_path(args.job, args.command), body)
    request_id = action.get("self_heal_request")
    if not action.get("done") and request_id and args.wait:
        decided = operations.request_wait(api, request_id, seconds=args.wait)
        out.answer(decided, describe_request(decided))
        return 0 if decided.get("status") == "approved" else 1
    if action.get("done"):
        summary = _("{job}: {action} done.").format(job=args.job, action=args.command)
    else:
        summary = _(
            "{job}: {action} needs approval ({reason}); self-heal request #{id} is {status}. "
            "Poll it with `pls request {id} --wait 600`."
        ).format(
            job=args.job,
            action=args.command,
            reason=(action.get("verdict") or {}).get("reason", ""),
            id=request_id,
            status=action.get("self_heal_request_status"),
        )
    out.answer(action, summary)
    return 0


def cmd_check(args: argparse.Namespace, api: PlsApi, out: Output) -> int:
    uploads = []
    for item in args.upload or []:
        url, _sep, digest = item.rpartition(",sha256=") if ",sha256=" in item else (item, "", "")
        uploads.append({"url": url, "sha256": digest} if digest else {"url": url})
    check = api.post(
        "artifact-gate-checks",
        {"job": args.job, "primary_url": args.primary_url, "upload_files": uploads},
    )
    check = operations.check_wait(api, check["id"], seconds=args.timeout)
    out.answer(check, describe_check(check))
    return 0 if check.get("status") == "passed" else 1


def describe_check(check: dict[str, Any]) -> str:
    line = _("Artifact check #{id} of {job}: {status}").format(
        id=check.get("id"), job=check.get("job"), status=check.get("status")
    )
    if check.get("status") not in operations.FINAL_CHECK_STATUSES:
        return line + _(" (still not finished; poll it again later)")
    if check.get("reason"):
        line += f" - {check['reason']}"
    return line


def cmd_complete(args: argparse.Namespace, api: PlsApi, out: Output) -> int:
    job = api.post(job_path(args.job, "complete"))
    out.answer(
        job,
        _("{id} completed (artifact check #{check}).").format(
            id=job.get("external_id"), check=job.get("artifact_check")
        ),
    )
    return 0


def cmd_usage(args: argparse.Namespace, api: PlsApi, out: Output) -> int:
    me = api.post("workers/me/usage", {"cents": args.cents})
    summary = describe_worker(me)
    if me.get("paused"):
        summary += "\n" + _("The worker is now paused: {reason}").format(
            reason=me.get("paused_reason")
        )
    out.answer(me, summary)
    return 0


def cmd_me(args: argparse.Namespace, api: PlsApi, out: Output) -> int:
    me = api.get("workers/me")
    out.answer(me, describe_worker(me))
    return 0


def describe_worker(me: dict[str, Any]) -> str:
    budget = me.get("budget_used_percent")
    return _(
        "{name} (team {team}): {status}; spend this month {spend} cents{budget}; holds {jobs}"
    ).format(
        name=me.get("name"),
        team=me.get("team") or "-",
        status=me.get("status"),
        spend=me.get("month_spend_cents"),
        budget=_(" ({percent} % of budget)").format(percent=budget) if budget is not None else "",
        jobs=", ".join(me.get("held_jobs") or []) or "-",
    )


def cmd_policy(args: argparse.Namespace, api: PlsApi, out: Output) -> int:
    policy = api.get("worker-policy/current")
    lines = [_("Worker policy v{version}").format(version=policy.get("version"))]
    for key, value in policy.items():
        if key not in ("id", "version", "is_current"):
            lines.append(f"  {key}: {json.dumps(value, ensure_ascii=False)}")
    out.answer(policy, "\n".join(lines))
    return 0


def cmd_prompt_pack(args: argparse.Namespace, api: PlsApi, out: Output) -> int:
    # The answer is Markdown, not JSON: printed as it came, with or without --json.
    print(api.text("learning/prompt-pack", accept="text/markdown"), end="")
    return 0


def cmd_request(args: argparse.Namespace, api: PlsApi, out: Output) -> int:
    if args.wait:
        request = operations.request_wait(api, args.id, seconds=args.wait)
    else:
        request = api.get(f"self-heal-requests/{args.id}")
    out.answer(request, describe_request(request))
    return 0


def describe_request(request: dict[str, Any]) -> str:
    line = _("Self-heal request #{id}: {action} on {target} - {status}").format(
        id=request.get("id"),
        action=request.get("action"),
        target=request.get("target") or request.get("job") or "-",
        status=request.get("status"),
    )
    if request.get("status") == "pending":
        return line + _(" (expires {when}, approver {role})").format(
            when=request.get("expires_at"), role=request.get("approver_role")
        )
    return line + (f": {request['note']}" if request.get("note") else "")


def _evidence(args: argparse.Namespace) -> str | None:
    if getattr(args, "evidence_file", None):
        if args.evidence_file == "-":
            return sys.stdin.read()
        return Path(args.evidence_file).read_text(encoding="utf-8", errors="replace")
    return getattr(args, "evidence", None)


# The parser -----------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pls",
        description=_("A PLS worker's client: jobs, events, checks, hooks and MCP."),
        epilog=_("Configuration: PLS_URL and PLS_TOKEN, or {path}.").format(
            path=config.config_path()
        ),
    )
    parser.add_argument("--version", action="version", version=f"pls-client {__version__}")
    parser.add_argument("--json", action="store_true", help=_("print the console's raw answer"))
    parser.add_argument("--url", help=_("the console's URL (overrides PLS_URL)"))
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Command, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    report = command("report", cmd_report, _("report a repair event; the answer has its verdict"))
    report.add_argument("--gate", required=True, choices=GATES)
    report.add_argument("--error-class", required=True, help=_("a slug, e.g. context_fetch_failed"))
    report.add_argument("--job")
    report.add_argument("--phase")
    report.add_argument("--action", help=_("the self-heal action wanted, e.g. retry"))
    report.add_argument("--target")
    report.add_argument("--message")
    _evidence_options(report)
    report.add_argument("--outcome", choices=("resolved", "failed"))
    report.add_argument("--lesson")
    report.add_argument("--fix")
    report.add_argument("--priority", type=int, choices=range(1, 6), metavar="1-5")
    report.add_argument("--callback-url")
    report.add_argument(
        "--idempotency-key", help=_("reuse a key to make a repeated report a replay")
    )

    command("claim-next", cmd_claim_next, _("claim the next open job (highest priority first)"))
    claim = command("claim", cmd_claim, _("claim a job by its id"))
    claim.add_argument("job")
    heartbeat = command("heartbeat", cmd_heartbeat, _("renew a held job's lease"))
    heartbeat.add_argument("job")
    heartbeat.add_argument("--progress")
    for name, help_text in (
        ("release", _("give a held job back, as the policy allows")),
        ("reclaim", _("take over a stuck job, as the policy allows")),
    ):
        action = command(name, cmd_release, help_text)
        action.add_argument("job")
        action.add_argument("--message")
        _evidence_options(action)
        action.add_argument("--callback-url")
        action.add_argument(
            "--wait", type=float, default=0, metavar="SECONDS", help=_("wait for approval")
        )

    check = command("check", cmd_check, _("submit an artifact check and wait for its verdict"))
    check.add_argument("job")
    check.add_argument("--primary-url", required=True)
    check.add_argument(
        "--upload", action="append", metavar="URL[,sha256=HEX]", help=_("an uploaded file")
    )
    check.add_argument("--timeout", type=float, default=CHECK_WAIT_SECONDS, metavar="SECONDS")

    complete = command("complete", cmd_complete, _("complete a held job (its check must pass)"))
    complete.add_argument("job")
    usage = command("usage", cmd_usage, _("add spend to this month's budget"))
    usage.add_argument("cents", type=int)
    command("me", cmd_me, _("this worker: status, budget, held jobs"))
    command("policy", cmd_policy, _("the worker policy in force"))
    command("prompt-pack", cmd_prompt_pack, _("the team's prompt pack (Markdown)"))
    request = command("request", cmd_request, _("a self-heal request's status"))
    request.add_argument("id", type=int)
    request.add_argument("--wait", type=float, default=0, metavar="SECONDS")

    hook = commands.add_parser(
        "hook", help=_("answer an agent's hook event (stdin) or print the hook configuration")
    )
    hook.add_argument("agent", choices=("claude-code", "codex", "install"))
    hook.add_argument("install_agent", nargs="?", choices=("claude-code", "codex"))
    hook.add_argument(
        "--format", choices=("json", "toml"), default="json", help=_("codex: hooks.json or TOML")
    )
    commands.add_parser("mcp", help=_("serve the worker's tools over MCP (stdio)"))
    return parser


def _evidence_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--evidence", help=_("command output (redacted by the console)"))
    group.add_argument("--evidence-file", metavar="PATH", help=_("evidence from a file, - = stdin"))
