"""The D7 acceptance panel and the D1 / D7 / D14 / D30 milestone tracker, derived from the
records (never typed in): each check is one bounded query that finds the record proving it
(and so when it was first met), with a link to those records in the console.

The adoption clock starts when the interim policy (version 1) was published; a milestone
is due that many days later.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib import admin
from django.db.models import Model
from django.urls import reverse
from django.utils.translation import gettext as _

from artifacts.models import ArtifactGateCheck
from dashboards.models import EventDayCount
from dashboards.selectors import midnight, rollup_mark
from learning.models import PromptPackExport
from notifications.digests import DAILY_SCORECARD, WEEKLY_LEARNING
from notifications.models import OwnerReport
from policies.models import PolicyDecision, Proposal, WorkerPolicy
from repairs.models import Gate, RepairEvent

D7_MIN_EVENTS = 3
# The open question whose answer is the approval matrix (policies migration 0002).
APPROVAL_MATRIX_QUESTION = "approval_matrix"
DECIDED = (Proposal.Status.ADOPTED, Proposal.Status.REJECTED)


@dataclass(frozen=True)
class Check:
    label: str
    done: bool
    url: str = ""
    detail: str = ""
    at: datetime | None = None  # when the data first met it


@dataclass(frozen=True)
class Milestone:
    key: str
    title: str
    checks: list[Check]
    due: datetime | None

    @property
    def done(self) -> bool:
        return all(check.done for check in self.checks)

    @property
    def reached_at(self) -> datetime | None:
        if not self.done:
            return None
        times = [check.at for check in self.checks if check.at]
        return max(times) if times else None

    def overdue(self, now: datetime) -> bool:
        return not self.done and self.due is not None and now > self.due

    def state(self, now: datetime) -> str:
        """``reached``, ``overdue`` (due and not reached) or ``open``."""
        if self.done:
            return "reached"
        return "overdue" if self.overdue(now) else "open"


def changelist(model: type[Model], query: str = "") -> str:
    """The console list of ``model``, filtered by ``query``; blank when the console does not
    show that model."""
    if not admin.site.is_registered(model):
        return ""
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{query}" if query else url


def change_page(obj: Model) -> str:
    if not admin.site.is_registered(type(obj)):
        return ""
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


# --- D7 acceptance ----------------------------------------------------------------------------


def acceptance_event_ids() -> list[int]:
    """The first worker events, which the D7 acceptance shows as its proof: retention
    keeps them (console.retention)."""
    return list(
        RepairEvent.objects.exclude(gate=Gate.REPAIR_SUGGESTED)
        .order_by("pk")
        .values_list("pk", flat=True)[:D7_MIN_EVENTS]
    )


def _events_check() -> Check:
    # Workers' reports: the console's own record of raising a proposal is not one.
    first = list(
        RepairEvent.objects.exclude(gate=Gate.REPAIR_SUGGESTED)
        .order_by("pk")
        .values_list("occurred_at", flat=True)[:D7_MIN_EVENTS]
    )
    done = len(first) >= D7_MIN_EVENTS
    return Check(
        label=_("≥ %(n)s repair / friction events") % {"n": D7_MIN_EVENTS},
        done=done,
        url=changelist(RepairEvent),
        detail=_("%(n)s reported") % {"n": f"{len(first)}{'+' if done else ''}"},
        at=max(first) if done else None,
    )


def _artifact_pass_check(mark: int) -> Check:
    """A passed artifact gate check, or an ``artifact_guard`` event whose error class names a
    pass (``…passed``: how a worker reporting its own passed guard spells it). The events are
    looked up in the rollup and its live tail past ``mark``: searching a million events for
    one that is not there would read them all."""
    check = (
        ArtifactGateCheck.objects.filter(status=ArtifactGateCheck.Status.PASSED)
        .order_by("pk")
        .values_list("pk", "finished_at", "created_at")
        .first()
    )
    if check is not None:
        return Check(
            label=_("≥ 1 artifact guard pass"),
            done=True,
            url=changelist(ArtifactGateCheck, "status__exact=passed"),
            detail=_("artifact check #%(pk)s passed") % {"pk": check[0]},
            at=check[1] or check[2],
        )
    passed = {"gate": Gate.ARTIFACT_GUARD, "error_class__endswith": "passed"}
    rolled = (
        EventDayCount.objects.filter(**passed)
        .order_by("day")
        .values_list("error_class", "day")
        .first()
    )
    live = (
        RepairEvent.objects.filter(pk__gt=mark, **passed)
        .order_by("pk")
        .values_list("error_class", "occurred_at")
        .first()
    )
    found = rolled or live
    if found is not None:
        return Check(
            label=_("≥ 1 artifact guard pass"),
            done=True,
            url=changelist(RepairEvent, f"gate__exact=artifact_guard&error_class={found[0]}"),
            detail=_("%(n)s reported") % {"n": found[0]},
            at=midnight(found[1]) if rolled else found[1],
        )
    return Check(
        label=_("≥ 1 artifact guard pass"),
        done=False,
        url=changelist(ArtifactGateCheck),
        detail=_("no passed artifact check yet"),
    )


def _decision_check() -> Check:
    first = PolicyDecision.objects.order_by("pk").values_list("pk", "decided_at").first()
    return Check(
        label=_("≥ 1 policy decision"),
        done=first is not None,
        url=changelist(PolicyDecision),
        detail=_("decision #%(pk)s") % {"pk": first[0]} if first else _("no decision yet"),
        at=first[1] if first else None,
    )


def d7_acceptance(*, mark: int | None = None) -> list[Check]:
    """The three D7 checks. ``mark``: the rollup's mark when the caller has read it."""
    if mark is None:
        mark = rollup_mark()
    return [_events_check(), _artifact_pass_check(mark), _decision_check()]


# --- Milestones -------------------------------------------------------------------------------


def _digest_sent(name: str, label: str) -> Check:
    source = f"digest.{name}"
    sent = (
        OwnerReport.objects.filter(source=source, state=OwnerReport.State.SENT)
        .order_by("pk")
        .values_list("sent_at", flat=True)
        .first()
    )
    return Check(
        label=label,
        done=sent is not None,
        url=changelist(OwnerReport, f"source={source}&state__exact=sent"),
        detail=_("sent") if sent else _("not sent yet"),
        at=sent,
    )


def milestones(acceptance: list[Check] | None = None) -> list[Milestone]:
    """D1, D7, D14 and D30, each with the checks that make it. Pass the D7 ``acceptance``
    already computed to save its queries."""
    acceptance = acceptance if acceptance is not None else d7_acceptance()
    interim = WorkerPolicy.objects.order_by("version").values_list("version", "created_at").first()
    start = interim[1] if interim else None
    questions = list(
        Proposal.objects.filter(kind=Proposal.Kind.POLICY_QUESTION)
        .order_by("pk")
        .values_list("pk", "question_key", "status", "created_at", "updated_at")
    )
    matrix = next((q for q in questions if q[1] == APPROVAL_MATRIX_QUESTION), None)
    repair = (
        Proposal.objects.filter(kind=Proposal.Kind.REPAIR)
        .order_by("pk")
        .values_list("pk", "created_at")
        .first()
    )
    export = PromptPackExport.objects.order_by("pk").values_list("pk", "exported_at").first()
    accepted = all(check.done for check in acceptance)

    def due(days: int) -> datetime | None:
        return start + timedelta(days=days) if start else None

    return [
        Milestone(
            "D1",
            _("Policy published and the three questions asked"),
            [
                Check(
                    _("Worker policy published"),
                    interim is not None,
                    changelist(WorkerPolicy),
                    f"v{interim[0]}" if interim else _("no policy"),
                    start,
                ),
                Check(
                    _("Three policy questions asked"),
                    len(questions) >= 3,
                    changelist(Proposal, "kind__exact=policy_question"),
                    _("%(n)s asked") % {"n": len(questions)},
                    questions[2][3] if len(questions) >= 3 else None,
                ),
            ],
            due(1),
        ),
        Milestone(
            "D7",
            _("Acceptance met and a first scorecard sent"),
            [
                Check(
                    _("D7 acceptance"),
                    accepted,
                    "#d7-acceptance",
                    _("%(done)s of %(all)s met")
                    % {"done": sum(c.done for c in acceptance), "all": len(acceptance)},
                    max((c.at for c in acceptance if c.at), default=None) if accepted else None,
                ),
                _digest_sent(DAILY_SCORECARD, _("First daily scorecard sent")),
            ],
            due(7),
        ),
        Milestone(
            "D14",
            _("Approval matrix decided and an automatic proposal made"),
            [
                Check(
                    _("Approval matrix decided"),
                    matrix is not None and matrix[2] in DECIDED,
                    change_page(Proposal(pk=matrix[0])) if matrix else "",
                    _("question %(status)s") % {"status": Proposal.Status(matrix[2]).label}
                    if matrix
                    else _("question missing"),
                    matrix[4] if matrix and matrix[2] in DECIDED else None,
                ),
                Check(
                    _("An automatic repair proposal made"),
                    repair is not None,
                    changelist(Proposal, "kind__exact=repair"),
                    _("proposal #%(pk)s") % {"pk": repair[0]} if repair else _("none yet"),
                    repair[1] if repair else None,
                ),
            ],
            due(14),
        ),
        Milestone(
            "D30",
            _("A weekly learning review sent and a prompt pack exported"),
            [
                _digest_sent(WEEKLY_LEARNING, _("Weekly learning review sent")),
                Check(
                    _("Prompt pack exported"),
                    export is not None,
                    changelist(PromptPackExport),
                    _("export #%(pk)s") % {"pk": export[0]} if export else _("not exported yet"),
                    export[1] if export else None,
                ),
            ],
            due(30),
        ),
    ]
