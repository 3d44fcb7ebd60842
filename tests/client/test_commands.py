"""Every ``pls`` command against the console's existing endpoints, run as a worker would:
a subprocess talking HTTP to a live server."""

import time

import pytest

from artifacts.models import ArtifactGateCheck
from artifacts.services import artifact_check_run
from learning.models import LearningMemoryUpdate
from repairs.models import Job, RepairEvent, SelfHealRequest, Worker
from tests.factories import JobFactory, LearningUpdateFactory, WorkerFactory, issue_token

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def check_run_by_the_test(pls, job: str, url: str):  # type: ignore[no-untyped-def]
    """``pls check`` in the background while the test plays the Celery worker: it runs the
    check once it is submitted. The finished process, its stdout and its stderr."""
    checking = pls.popen("check", job, "--primary-url", url)
    deadline = time.monotonic() + 30
    while not ArtifactGateCheck.objects.filter(job__external_id=job).exists():
        assert time.monotonic() < deadline, checking.communicate(timeout=5)
        time.sleep(0.1)
    artifact_check_run(check_id=ArtifactGateCheck.objects.get(job__external_id=job).pk)
    out, err = checking.communicate(timeout=30)
    return checking, out, err


def test_report_answers_the_verdict_and_a_repeated_key_is_a_replay(pls, worker):
    args = (
        "--json",
        "report",
        "--gate",
        "stuck_claim",
        "--error-class",
        "context_fetch_failed",
        "--job",
        "CLI-1",
        "--action",
        "retry",
        "--message",
        "context fetch 503",
        "--evidence",
        "curl: (22) 503\nexport API_KEY=sk-live-abcdefghijklmnopqrstuvwxyz",
        "--idempotency-key",
        "cli-report-1",
    )
    first = pls(*args)
    again = pls(*args)

    assert first.code == 0, first.stderr
    event = first.json()
    assert event["verdict"]["decision"] == "allowed"
    assert "sk-live" not in event["evidence"] and "[REDACTED" in event["evidence"]
    assert again.json()["id"] == event["id"]
    assert RepairEvent.objects.filter(worker=worker, job_ref="CLI-1").count() == 1


def test_report_without_json_prints_a_summary_with_the_verdict(pls):
    result = pls(
        "report",
        "--gate",
        "friction",
        "--error-class",
        "slow_review",
        "--action",
        "report_friction",
        "--message",
        "reviews take a day",
    )

    assert result.code == 0, result.stderr
    assert "Verdict on report_friction: allowed" in result.stdout


def test_claim_next_claims_the_open_job_then_finds_the_queue_empty(pls, worker):
    Job.objects.all().delete()
    JobFactory(external_id="CLI-NEXT")

    claimed = pls("--json", "claim-next")
    empty = pls("claim-next")

    assert claimed.code == 0, claimed.stderr
    assert claimed.json()["external_id"] == "CLI-NEXT"
    assert claimed.json()["holder"] == worker.name
    assert empty.code == 0 and "No open job" in empty.stdout


def test_claim_heartbeat_and_a_release_that_waits_for_the_reviewer(pls, worker):
    JobFactory(external_id="CLI-2")

    claimed = pls("claim", "CLI-2")
    beat = pls("--json", "heartbeat", "CLI-2", "--progress", "step 2 of 3")
    released = pls("release", "CLI-2", "--message", "handing it back")

    assert claimed.code == 0 and "CLI-2: claimed" in claimed.stdout
    assert beat.json()["progress"] == "step 2 of 3"
    # The interim policy sends a release to the risk reviewer.
    request = SelfHealRequest.objects.get(worker=worker, action="release")
    assert released.code == 0, released.stderr
    assert f"self-heal request #{request.pk} is pending" in released.stdout
    polled = pls("request", str(request.pk))
    assert polled.code == 0 and "pending" in polled.stdout


def test_a_refusal_exits_non_zero_with_the_problem_title_and_detail(pls, worker):
    JobFactory(external_id="CLI-3")
    other = WorkerFactory()
    pls.with_env(PLS_TOKEN=issue_token(other))("claim", "CLI-3")

    held_by_other = pls("claim", "CLI-3")
    no_check = pls.with_env(PLS_TOKEN=issue_token(other))("complete", "CLI-3")

    assert held_by_other.code == 1
    assert held_by_other.stderr.startswith("pls: 409 Another worker holds the job: Job CLI-3")
    assert no_check.code == 1
    assert "409 Artifact guard not passed" in no_check.stderr
    assert Job.objects.get(external_id="CLI-3").status == Job.Status.CLAIMED


def test_check_waits_for_the_verdict_and_then_the_job_completes(pls, worker, live_server):
    JobFactory(external_id="CLI-4")
    assert pls("claim", "CLI-4").code == 0

    checking, out, err = check_run_by_the_test(pls, "CLI-4", f"{live_server.url}/health")
    completed = pls("complete", "CLI-4")

    assert checking.returncode == 0, err
    assert "passed" in out
    assert completed.code == 0, completed.stderr
    assert Job.objects.get(external_id="CLI-4").status == Job.Status.COMPLETED


def test_a_failed_check_exits_non_zero_with_its_reason(pls, worker, live_server):
    JobFactory(external_id="CLI-5")
    assert pls("claim", "CLI-5").code == 0
    checking, out, _err = check_run_by_the_test(pls, "CLI-5", f"{live_server.url}/no-such-page")

    assert checking.returncode == 1
    assert "failed" in out and "404" in out


def test_usage_adds_spend_to_the_month(pls, worker):
    result = pls("--json", "usage", "150")

    assert result.code == 0, result.stderr
    assert result.json()["month_spend_cents"] == 150
    assert pls("me").stdout.count("spend this month 150 cents") == 1
    assert Worker.objects.get(pk=worker.pk).status != Worker.Status.PAUSED


def test_policy_and_prompt_pack_are_read_as_the_worker_sees_them(pls, worker):
    LearningUpdateFactory(team=worker.team, review="accepted", lesson="Renew the lease first.")

    policy = pls("--json", "policy")
    pack = pls("prompt-pack")

    assert policy.code == 0 and policy.json()["is_current"] is True
    assert "max_auto_retries" in pls("policy").stdout
    assert pack.code == 0
    assert pack.stdout.startswith(f"# Prompt pack: team {worker.team}")
    assert "Renew the lease first." in pack.stdout
    assert LearningMemoryUpdate.objects.filter(review="accepted").exists()


def test_without_a_token_the_command_says_how_to_configure_it(pls):
    result = pls.with_env(PLS_TOKEN="")("me")

    assert result.code == 1
    assert "PLS_TOKEN" in result.stderr


def test_a_revoked_or_wrong_token_is_the_consoles_401(pls):
    result = pls.with_env(PLS_TOKEN="pls_not_a_real_token")("me")

    assert result.code == 1
    assert result.stderr.startswith("pls: 401")
