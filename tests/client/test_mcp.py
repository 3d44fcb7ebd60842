"""``pls mcp`` started by the MCP SDK's own stdio client: it lists the worker's tools with
their schemas and hints, and each call reaches the live console."""

import asyncio
import json
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from artifacts.models import ArtifactGateCheck
from repairs.models import Job, RepairEvent, SelfHealRequest
from tests.client.conftest import PLS
from tests.factories import JobFactory, LearningUpdateFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

TOOLS = {
    "report_event",
    "claim_next_job",
    "heartbeat",
    "request_self_heal",
    "submit_artifact_check",
    "complete_job",
    "read_policy",
    "read_prompt_pack",
}


def structured(result: Any) -> Any:
    assert not result.is_error, result.content
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(result.content[0].text)


async def session(pls, live_server) -> dict[str, Any]:
    server = StdioServerParameters(command=str(PLS), args=["mcp"], env=pls.env)
    seen: dict[str, Any] = {}
    async with Client(server, read_timeout_seconds=60) as client:
        listing = await client.list_tools()
        seen["tools"] = {tool.name: tool for tool in listing.tools}
        call = client.call_tool
        seen["claimed"] = structured(await call("claim_next_job", {}))
        seen["beat"] = structured(await call("heartbeat", {"job": "MCP-1", "progress": "halfway"}))
        seen["event"] = structured(
            await call(
                "report_event",
                {
                    "gate": "stuck_claim",
                    "error_class": "context_fetch_failed",
                    "job": "MCP-1",
                    "action": "retry",
                    "message": "context fetch 503",
                },
            )
        )
        seen["check"] = structured(
            await call(
                "submit_artifact_check",
                {"job": "MCP-1", "primary_url": f"{live_server.url}/health"},
            )
        )
        seen["complete"] = await call("complete_job", {"job": "MCP-1"})
        seen["release"] = structured(
            await call("request_self_heal", {"job": "MCP-1", "action": "release"})
        )
        seen["policy"] = structured(await call("read_policy", {}))
        seen["pack"] = await call("read_prompt_pack", {})
        resource = await client.read_resource("pls://prompt-pack")
        seen["resource"] = resource.contents[0].text
    return seen


def test_the_mcp_server_lists_the_workers_tools_and_each_reaches_the_console(
    pls, worker, live_server
):
    Job.objects.all().delete()
    JobFactory(external_id="MCP-1")
    LearningUpdateFactory(team=worker.team, review="accepted", lesson="Heartbeat every minute.")

    seen = asyncio.run(session(pls, live_server))

    tools = seen["tools"]
    assert set(tools) == TOOLS
    assert tools["read_policy"].annotations.read_only_hint is True
    assert tools["complete_job"].annotations.destructive_hint is True
    assert tools["heartbeat"].annotations.destructive_hint is False
    assert tools["report_event"].input_schema["required"] == ["gate", "error_class"]
    assert "stuck_claim" in json.dumps(tools["report_event"].input_schema)

    assert seen["claimed"]["job"]["external_id"] == "MCP-1"
    assert seen["beat"]["progress"] == "halfway"
    assert seen["event"]["verdict"]["decision"] == "allowed"
    assert RepairEvent.objects.filter(worker=worker, job_ref="MCP-1").exists()
    assert seen["check"]["status"] == "pending"
    assert ArtifactGateCheck.objects.filter(job__external_id="MCP-1").exists()
    # The guard refuses completion while the check has not passed: a tool error with why.
    assert seen["complete"].is_error
    assert "409 Artifact guard not passed" in seen["complete"].content[0].text
    assert seen["release"]["self_heal_request_status"] == "pending"
    assert SelfHealRequest.objects.filter(worker=worker, action="release").exists()
    assert seen["policy"]["is_current"] is True
    assert "Heartbeat every minute." in seen["pack"].content[0].text
    assert seen["resource"].startswith(f"# Prompt pack: team {worker.team}")
