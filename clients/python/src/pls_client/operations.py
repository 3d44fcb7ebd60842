"""What a worker does that takes more than one call: wait for an artifact check to finish,
wait for a reviewer's decision, and work out which of its held jobs may complete."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from pls_client.api import PlsApi
from pls_client.i18n import _

FINAL_CHECK_STATUSES = frozenset({"passed", "failed", "error"})
POLL_INTERVAL_SECONDS = 1.0


def job_path(job: str, action: str = "") -> str:
    """``jobs/<id>[/<action>]`` with the id escaped: ids are free text from the agent."""
    path = f"jobs/{quote(job, safe='')}"
    return f"{path}/{action}" if action else path


def poll(
    fetch: Callable[[], dict[str, Any]],
    *,
    done: Callable[[dict[str, Any]], bool],
    seconds: float,
    interval: float = POLL_INTERVAL_SECONDS,
) -> dict[str, Any]:
    """``fetch()`` until ``done(answer)`` or ``seconds`` have passed; the last answer."""
    deadline = time.monotonic() + seconds
    answer = fetch()
    while not done(answer) and time.monotonic() < deadline:
        time.sleep(max(0.0, min(interval, deadline - time.monotonic())))
        answer = fetch()
    return answer


def check_wait(api: PlsApi, check_id: int, *, seconds: float) -> dict[str, Any]:
    """The artifact check once it is passed, failed or error (or as it is after ``seconds``)."""
    return poll(
        lambda: api.get(f"artifact-gate-checks/{int(check_id)}"),
        done=lambda check: check.get("status") in FINAL_CHECK_STATUSES,
        seconds=seconds,
    )


def request_wait(api: PlsApi, request_id: int, *, seconds: float) -> dict[str, Any]:
    """The self-heal request once a reviewer decided it or it expired (or after ``seconds``)."""
    return poll(
        lambda: api.get(f"self-heal-requests/{int(request_id)}"),
        done=lambda request: request.get("status") != "pending",
        seconds=seconds,
    )


@dataclass(frozen=True)
class JobGuard:
    """Whether a job the worker holds may complete now (its latest artifact check passed)."""

    job: str
    status: str
    check_id: int | None
    check_status: str | None
    may_complete: bool
    check_reason: str = ""

    def blocker(self) -> str:
        """Why the job may not complete yet, in a sentence for the agent."""
        if self.status == "stuck":
            return _("job {job} is stuck (its lease ran out): release or reclaim it first").format(
                job=self.job
            )
        if self.check_id is None:
            return _(
                "job {job} has no artifact check: submit one with "
                "`pls check {job} --primary-url URL`"
            ).format(job=self.job)
        if self.check_status in ("pending", "running"):
            return _("artifact check #{check} of job {job} is still {status}").format(
                check=self.check_id, job=self.job, status=self.check_status
            )
        reason = f": {self.check_reason}" if self.check_reason else ""
        return _(
            "artifact check #{check} of job {job} {status}{reason}; fix the artifact and "
            "submit a new check"
        ).format(check=self.check_id, job=self.job, status=self.check_status, reason=reason)


def held_job_guards(api: PlsApi) -> list[JobGuard]:
    """The worker's claimed and stuck jobs with whether each may complete: the console's
    ``held_job_guards`` from ``/workers/me`` when it has them, else worked out here from the
    job and its latest artifact check (the console answers the same question at completion)."""
    me = api.get("workers/me")
    if isinstance(me.get("held_job_guards"), list):
        return [_from_console(guard) for guard in me["held_job_guards"]]
    guards = []
    for job in me.get("held_jobs") or []:
        status = api.get(job_path(job)).get("status", "")
        page = api.get("artifact-gate-checks", job=job, limit=1)
        latest = (page.get("results") or [None])[0] if isinstance(page, dict) else None
        guards.append(
            JobGuard(
                job=job,
                status=status,
                check_id=latest["id"] if latest else None,
                check_status=latest["status"] if latest else None,
                may_complete=status == "claimed" and bool(latest) and latest["status"] == "passed",
                check_reason=(latest or {}).get("reason") or "",
            )
        )
    return guards


def _from_console(guard: dict[str, Any]) -> JobGuard:
    check = guard.get("artifact_check") or {}
    return JobGuard(
        job=str(guard.get("job", "")),
        status=str(guard.get("status", "")),
        check_id=check.get("id"),
        check_status=check.get("status"),
        may_complete=bool(guard.get("may_complete")),
        check_reason=str(check.get("reason") or ""),
    )
