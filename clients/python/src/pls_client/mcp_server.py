"""``pls mcp``: the worker's tools as an MCP server on stdio (the official MCP Python SDK's
``MCPServer``), for agents that prefer tools to a shell: report an event, claim the next
job, heartbeat, ask for a release or reclaim, submit an artifact check, complete a job,
read the policy and the prompt pack (also a resource, ``pls://prompt-pack``)."""

import sys
from typing import Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from pls_client import config, operations
from pls_client.api import PlsApi
from pls_client.errors import PlsError
from pls_client.i18n import _
from pls_client.operations import job_path

PROMPT_PACK_URI = "pls://prompt-pack"
MAX_CHECK_WAIT_SECONDS = 300.0

Gate = Literal["stuck_claim", "repair_suggested", "artifact_guard", "worker_learning", "friction"]


class UploadFile(BaseModel):
    url: str = Field(description="http(s) URL of an uploaded file; it must answer 200")
    sha256: str = Field(default="", description="hex SHA-256 the body must hash to (optional)")


def build_server(api: PlsApi) -> MCPServer:
    server = MCPServer(
        "pls",
        instructions=_(
            "PLS governs this worker: report failures, keep the claimed job's lease alive, "
            "ask before releasing or reclaiming, and complete a job only after its artifact "
            "check passed. Read the prompt pack before starting."
        ),
    )

    def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PlsError as error:
            raise ToolError(str(error)) from None

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False))
    def report_event(
        gate: Gate,
        error_class: str,
        job: str = "",
        phase: str = "",
        action: str = "",
        target: str = "",
        message: str = "",
        evidence: str = "",
    ) -> dict[str, Any]:
        """Report a repair event (what failed, and the self-heal action wanted, e.g. retry);
        the answer carries the policy's verdict. Evidence is redacted by PLS."""
        body = {
            "gate": gate,
            "error_class": error_class,
            "job": job,
            "phase": phase,
            "action": action,
            "target": target,
            "message": message,
            "evidence": evidence,
        }
        return call(api.post, "worker-repair-events", {k: v for k, v in body.items() if v})

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False))
    def claim_next_job() -> dict[str, Any]:
        """Claim the next open job (highest priority first). ``job`` is null when the queue is
        empty."""
        return {"job": call(api.post, "jobs/claim-next")}

    @server.tool(
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=True
        )
    )
    def heartbeat(job: str, progress: str = "") -> dict[str, Any]:
        """Renew the lease on a job this worker holds, recording what it is doing now."""
        body = {"progress": progress} if progress else {}
        return call(api.post, job_path(job, "heartbeat"), body)

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
    def request_self_heal(
        job: str, action: Literal["release", "reclaim"], message: str = "", evidence: str = ""
    ) -> dict[str, Any]:
        """Ask to release a held job or reclaim a stuck one. The policy decides: done at once,
        a self-heal request to wait for (``self_heal_request``), or refused."""
        body = {"message": message, "evidence": evidence}
        return call(api.post, job_path(job, action), body)

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False))
    def submit_artifact_check(
        job: str,
        primary_url: str,
        upload_files: list[UploadFile] | None = None,
        wait_seconds: float = 0,
    ) -> dict[str, Any]:
        """Submit the artifact check that must pass before the job may complete; with
        ``wait_seconds``, wait (up to 300 s) for its final status."""
        body = {
            "job": job,
            "primary_url": primary_url,
            "upload_files": [item.model_dump(exclude_defaults=True) for item in upload_files or []],
        }
        check = call(api.post, "artifact-gate-checks", body)
        if wait_seconds > 0:
            seconds = min(wait_seconds, MAX_CHECK_WAIT_SECONDS)
            check = call(operations.check_wait, api, check["id"], seconds=seconds)
        return check

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
    def complete_job(job: str) -> dict[str, Any]:
        """Complete a held job; refused (with the reason) unless its latest artifact check
        passed."""
        return call(api.post, job_path(job, "complete"))

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def read_policy() -> dict[str, Any]:
        """The worker policy in force: retry budget, approval matrix, protected resources,
        known repairs."""
        return call(api.get, "worker-policy/current")

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def read_prompt_pack() -> str:
        """The team's prompt pack: lessons earlier workers learned, most urgent first."""
        return call(api.text, "learning/prompt-pack", accept="text/markdown")

    @server.resource(PROMPT_PACK_URI, name="prompt-pack", mime_type="text/markdown")
    def prompt_pack() -> str:
        """The team's prompt pack (Markdown)."""
        return call(api.text, "learning/prompt-pack", accept="text/markdown")

    return server


def serve(*, url: str | None = None) -> int:
    try:
        api = PlsApi(config.load(url=url))
    except PlsError as error:
        print(_("pls mcp: {error}").format(error=error), file=sys.stderr)
        return 1
    with api:
        build_server(api).run("stdio")
    return 0
