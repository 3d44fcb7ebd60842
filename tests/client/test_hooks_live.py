"""The hooks that need no tool verdict, against a live console: SessionStart carries the
team's prompt pack, a failed tool becomes a repair event, and Stop is refused while the
worker holds a job whose artifact has not passed the guard."""

import pytest

from artifacts.services import artifact_check_run, artifact_check_submit
from repairs.models import RepairEvent
from tests.client.conftest import sample
from tests.factories import LearningUpdateFactory, held_job

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.mark.parametrize("agent", ["claude_code", "codex"])
def test_session_start_carries_an_accepted_lesson_of_the_team(pls, worker, agent):
    LearningUpdateFactory(
        team=worker.team,
        review="accepted",
        lesson="Wait 30 s after a 503 from the context API, then fetch once more.",
    )
    LearningUpdateFactory(team=worker.team, review="pending", lesson="An unreviewed guess.")

    result = pls.hook(agent.replace("_", "-"), sample(agent, "session_start"))

    assert result.code == 0, result.stderr
    output = result.json()["hookSpecificOutput"]
    assert output["hookEventName"] == "SessionStart"
    assert output["additionalContext"].startswith(f"# Prompt pack: team {worker.team}")
    assert "Wait 30 s after a 503 from the context API" in output["additionalContext"]
    assert "An unreviewed guess." not in output["additionalContext"]


def test_a_failed_tool_is_recorded_as_a_repair_event_once(pls, worker):
    job = held_job(worker)
    failure = sample(
        "claude_code",
        "post_tool_use_failure",
        error="Exit code 1\nError: Cannot find module 'express'\n"
        "npm ERR! token=npm_abcdefghijklmnopqrstuvwxyz0123456789",
    )

    first = pls.hook("claude-code", failure)
    replay = pls.hook("claude-code", failure)  # the same tool_use_id: the same event

    assert first.code == 0, first.stderr
    event = RepairEvent.objects.get(worker=worker)
    assert (event.gate, event.error_class, event.job_ref) == (
        "repair_suggested",
        "tool_bash_failed",
        job.external_id,
    )
    assert event.message == "Bash failed: Exit code 1 (running `npm test`)"
    assert "Cannot find module 'express'" in event.evidence
    assert "npm_abcdefghijklmnopqrstuvwxyz" not in event.evidence  # redacted by the console
    assert event.redactions >= 1
    context = first.json()["hookSpecificOutput"]
    assert context["hookEventName"] == "PostToolUseFailure"
    assert f"repair event #{event.pk}" in context["additionalContext"]
    assert replay.code == 0 and RepairEvent.objects.filter(worker=worker).count() == 1


def test_an_interrupted_tool_is_not_reported(pls, worker):
    result = pls.hook(
        "claude-code", sample("claude_code", "post_tool_use_failure", is_interrupt=True)
    )

    assert (result.code, result.stdout) == (0, "")
    assert not RepairEvent.objects.filter(worker=worker).exists()


@pytest.mark.parametrize("agent", ["claude_code", "codex"])
def test_stop_is_blocked_until_the_held_jobs_check_passes(pls, worker, live_server, agent):
    job = held_job(worker)
    stop = sample(agent, "stop", stop_hook_active=False)

    blocked = pls.hook(agent.replace("_", "-"), stop)
    check = artifact_check_submit(
        worker=worker, job=job, primary_url=f"{live_server.url}/health", upload_files=[]
    )
    still_running = pls.hook(agent.replace("_", "-"), stop)
    artifact_check_run(check_id=check.pk)
    released = pls.hook(agent.replace("_", "-"), stop)

    assert blocked.code == 0, blocked.stderr
    assert blocked.json()["decision"] == "block"
    assert f"job {job.external_id} has no artifact check" in blocked.json()["reason"]
    assert (
        f"artifact check #{check.pk} of job {job.external_id} is still pending"
        in (still_running.json()["reason"])
    )
    assert (released.code, released.stdout) == (0, "")


def test_stop_warns_instead_of_blocking_again_when_the_agent_already_continued(pls, worker):
    job = held_job(worker)

    # The documented sample: stop_hook_active is true, the agent already went back once.
    result = pls.hook("claude-code", sample("claude_code", "stop"))

    assert result.code == 0
    output = result.json()
    assert "decision" not in output
    assert job.external_id in output["systemMessage"]
    assert "Stopping anyway" in output["systemMessage"]


def test_stop_lets_a_worker_that_holds_nothing_stop(pls, worker):
    result = pls.hook("codex", sample("codex", "stop"))

    assert (result.code, result.stdout) == (0, "")
