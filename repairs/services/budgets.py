"""Worker budgets and pauses (the agent operations runbook): spend is counted per budget
month (from midnight on the 1st on the console's clock, ``PLS_TIME_ZONE``); the owner is
warned once a month at a share of the budget and the worker is paused at all of it; the owner
pauses and resumes workers by hand. Amounts are in ``PLS_CURRENCY`` (core/money.py)."""

from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from core.audience import later
from core.audit import CHANGE, audit_record, label_said, said
from core.clock import console_zone, local_month, zone_label
from core.exceptions import DomainError, NotAllowed
from core.money import money
from core.roles import PLS_OWNER, has_role
from notifications.services import report_enqueue
from repairs.models import Job, Worker

WorkerStatus = Worker.Status


class InvalidUsage(DomainError):
    type_slug = "invalid-usage"
    title = _("Invalid usage report")


@dataclass(frozen=True)
class UsageRecorded:
    worker: Worker
    warned: bool  # this report crossed the warning share: the owner was told
    paused: bool  # this report used up the budget: the worker is paused now


def budget_month_of(moment: datetime) -> date:
    """The budget month ``moment`` falls in: its 1st, on the console's calendar. It ends at
    ``core.clock.next_month_start(moment)``."""
    return local_month(moment)


def month_spend(worker: Worker, *, now: datetime | None = None) -> int:
    """What ``worker`` spent in the current budget month (0 once a new month has begun,
    before its first report of the month resets the counter)."""
    month = budget_month_of(now or timezone.now())
    return worker.month_spend_cents if worker.budget_month == month else 0


def worker_usage_add(*, worker: Worker, cents: int, now: datetime | None = None) -> UsageRecorded:
    """Adds ``cents`` to the worker's spend in this budget month.

    The owner is warned once per month when the spend reaches ``PLS_BUDGET_WARN_PERCENT`` of
    the monthly budget; at 100 % the worker is paused with the reason, which it is told on
    its next claim. A budget of 0 means none is set. The worker row is locked, so
    concurrent reports from one worker add up and cross each threshold once.
    """
    if cents <= 0:
        raise InvalidUsage(str(_("Usage is a positive number of cents.")), cents=cents)
    now = now or timezone.now()
    month = budget_month_of(now)
    warned = paused = False
    with transaction.atomic():
        locked = Worker.objects.select_for_update().get(pk=worker.pk)
        if locked.budget_month is None or locked.budget_month < month:
            locked.budget_month = month
            locked.month_spend_cents = 0
        locked.month_spend_cents += cents
        budget, spend = locked.monthly_budget_cents, locked.month_spend_cents
        fields = ["budget_month", "month_spend_cents"]
        if budget and spend >= budget:
            if locked.status != WorkerStatus.PAUSED:
                _pause(
                    locked,
                    f"Monthly budget used up: {_money(spend)} of {_money(budget)} in "
                    f"{month:%Y-%m}. It stays paused until the owner resumes it in the console "
                    "(after raising the budget, or once a new budget month begins on the 1st, "
                    f"{zone_label(console_zone())}).",
                    by="budget",
                )
                paused = True
            # The pause is the louder message; no 80 % warning follows it this month.
            locked.budget_warned_month = month
            fields.append("budget_warned_month")
        elif (
            budget
            and spend * 100 >= budget * settings.PLS_BUDGET_WARN_PERCENT
            and locked.budget_warned_month != month
        ):
            locked.budget_warned_month = month
            fields.append("budget_warned_month")
            report_enqueue(
                source="worker.budget_warning",
                title=later(
                    _("%(worker)s has used %(percent)s %% of its monthly budget"),
                    worker=locked.name,
                    percent=spend * 100 // budget,
                ),
                status="warning",
                team=locked.team,
                worker=locked.name,
                progress=later(
                    _("%(spent)s of %(budget)s spent in %(month)s."),
                    spent=_money_read(spend),
                    budget=_money_read(budget),
                    month=f"{month:%Y-%m}",
                ),
                next_step=_(
                    "Raise the budget in the console, or the worker is paused when it reaches "
                    "100 %."
                ),
                dedup_key=f"worker.budget_warning:{locked.pk}:{month:%Y-%m}",
                link=reverse("admin:repairs_worker_change", args=[locked.pk]),
            )
            warned = True
        locked.save(update_fields=fields)
    return UsageRecorded(locked, warned=warned, paused=paused)


def worker_pause(*, worker: Worker, reason: str, by: User) -> bool:
    """The owner pauses a worker: it takes no new work (its claims answer 423 with
    ``reason``) until resumed. Returns False if it was paused already."""
    _require_owner(by, _("Only the PLS owner pauses workers."))
    with transaction.atomic():
        locked = Worker.objects.select_for_update().get(pk=worker.pk)
        if locked.status == WorkerStatus.PAUSED:
            return False
        _pause(locked, reason or f"Paused by {by.get_username()}.", by=by.get_username())
        audit_record(
            user=by,
            obj=locked,
            action_flag=CHANGE,
            message=said(gettext_noop("Paused: %(reason)s"), reason=locked.paused_reason),
        )
    return True


def worker_resume(*, worker: Worker, by: User) -> bool:
    """The owner resumes a paused worker: running if it still holds a claimed job, idle
    otherwise; the pause reason is cleared. Returns False if it was not paused."""
    _require_owner(by, _("Only the PLS owner resumes workers."))
    with transaction.atomic():
        locked = Worker.objects.select_for_update().get(pk=worker.pk)
        if locked.status != WorkerStatus.PAUSED:
            return False
        holds_work = Job.objects.filter(claimed_by=locked, status=Job.Status.CLAIMED).exists()
        locked.status = WorkerStatus.RUNNING if holds_work else WorkerStatus.IDLE
        locked.paused_reason = ""
        locked.save(update_fields=["status", "paused_reason"])
        audit_record(
            user=by,
            obj=locked,
            action_flag=CHANGE,
            message=said(
                gettext_noop("Resumed (%(status)s)."),
                status=label_said(WorkerStatus(locked.status).label),
            ),
        )
        report_enqueue(
            source="worker.resumed",
            title=later(
                _("%(worker)s resumed by %(by)s"), worker=locked.name, by=by.get_username()
            ),
            status="normal",
            team=locked.team,
            worker=locked.name,
            dedup_key=f"worker.resumed:{locked.pk}:{timezone.now().isoformat()}",
            link=reverse("admin:repairs_worker_change", args=[locked.pk]),
        )
    return True


def _pause(worker: Worker, reason: str, *, by: str) -> None:
    """Pauses the locked ``worker`` and tells the owner, in the caller's transaction."""
    worker.status = WorkerStatus.PAUSED
    worker.paused_reason = reason[: Worker._meta.get_field("paused_reason").max_length]
    worker.save(update_fields=["status", "paused_reason"])
    report_enqueue(
        source="worker.paused",
        title=later(_("%(worker)s paused (%(by)s)"), worker=worker.name, by=by),
        status="critical" if by == "budget" else "warning",
        team=worker.team,
        worker=worker.name,
        progress=worker.paused_reason,
        next_step=_("Resume it in the console (Workers → Resume) when it may work again."),
        dedup_key=f"worker.paused:{worker.pk}:{timezone.now().isoformat()}",
        link=reverse("admin:repairs_worker_change", args=[worker.pk]),
    )


def _require_owner(user: User | AnonymousUser, refusal: str | Promise) -> None:
    if not has_role(user, PLS_OWNER):
        raise NotAllowed(str(refusal))


# An amount in the language of whoever reads it (a report's channel).
_money_read = lazy(money, str)


def _money(cents: int) -> str:
    # Stored text (a report, a pause reason): written in the console's language, whoever's
    # request caused it.
    return money(cents, language=settings.LANGUAGE_CODE)
