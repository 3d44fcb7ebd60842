"""What the console home shows a person (``console.site.OpsConsoleSite.index``): pending
approvals, the D7 acceptance panel, the milestone tracker, the open policy questions, the
worker board and the scorecard with its charts. Each part is shown only to people who may
read its records, and costs a fixed number of queries.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.roles import acts_as_decider, roles_of
from dashboards import charts, milestones, selectors
from dashboards.scorecard import MAX_DAYS, build_scorecard
from dashboards.templatetags.console import label
from policies.models import Proposal
from repairs.models import SelfHealRequest

SCORECARD_CHOICES = (1, 7, 30, 90)
# The events-per-day chart covers the scorecard's window, but never fewer days than a week
# (one point draws no line); its caption always names its own window.
SPARKLINE_MIN_DAYS = 7


@dataclass(frozen=True)
class PendingApproval:
    request: SelfHealRequest
    may_decide: bool
    overdue: bool
    age_seconds: float
    refusal: str  # why this person may not decide it ("" when they may)


def pending_approvals(user: AbstractBaseUser, roles: frozenset[str], now: datetime) -> dict:
    """The buttons and the reason shown without them follow
    ``SelfHealRequest.refusal_for``, the rule the service checks again when one is pressed."""
    limit = settings.PLS_CONSOLE_PENDING_LIMIT
    rows, total = selectors.pending_self_heal_requests(limit=limit)
    can_change = user.has_perm("repairs.change_selfhealrequest")
    items = []
    for heal in rows:
        refusal = heal.refusal_for(user, roles=roles)
        items.append(
            PendingApproval(
                request=heal,
                may_decide=can_change and not refusal and heal.expires_at > now,
                overdue=heal.expires_at <= now,
                age_seconds=(now - heal.created_at).total_seconds(),
                refusal=refusal,
            )
        )
    return {
        "items": items,
        "total": total,
        "more": max(total - len(items), 0),
        "yours": sum(item.may_decide for item in items),
    }


def _days(request: HttpRequest) -> int:
    """The scorecard window the person picked (?days=), or the default."""
    raw = request.GET.get("days", "")
    if raw.isdigit() and 1 <= int(raw) <= MAX_DAYS:
        return int(raw)
    return settings.PLS_CONSOLE_SCORECARD_DAYS


def console_home(request: HttpRequest) -> dict:
    """The context of the console home for ``request.user``."""
    user = request.user
    now = timezone.now()
    context: dict = {"now": now}
    roles = roles_of(user)
    if user.has_perm("repairs.view_selfhealrequest"):
        context["approvals"] = pending_approvals(user, roles, now)
    if user.has_perm("policies.view_proposal"):
        limit = settings.PLS_CONSOLE_PENDING_LIMIT
        context["proposals_waiting"] = selectors.undecided_proposals(limit=limit)
        context["questions"] = selectors.open_policy_questions()
        context["may_decide_proposals"] = user.has_perm(
            "policies.change_proposal"
        ) and acts_as_decider(user, roles)
        context["question_kind"] = Proposal.Kind.POLICY_QUESTION
    if not user.has_perm("dashboards.view_scorecard"):
        return context

    days = _days(request)
    sparkline_days = max(days, SPARKLINE_MIN_DAYS)
    card = build_scorecard(days=days, now=now, per_day_days=sparkline_days)
    acceptance = milestones.d7_acceptance(mark=card["events"]["mark"])
    tracker = milestones.milestones(acceptance)
    board = selectors.worker_board(now=now, limit=settings.PLS_CONSOLE_WORKER_BOARD_LIMIT)
    events = card["events"]
    per_day = [(point["day"], point["count"]) for point in events["per_day"]]
    latency = card["self_heal"]["approval_latency"]
    context.update(
        {
            "days": days,
            "day_choices": SCORECARD_CHOICES,
            "scorecard": card,
            "acceptance": acceptance,
            "accepted": all(check.done for check in acceptance),
            "milestones": [
                {"milestone": m, "overdue": m.overdue(now), "reached_at": m.reached_at}
                for m in tracker
            ],
            "workers": [
                {"worker": worker, "budget": charts.budget_bar(worker.use)} for worker in board
            ],
            "workers_total": sum(card["workers"]["by_status"].values()),
            "worker_statuses": [
                (label(status, "worker_status"), n)
                for status, n in card["workers"]["by_status"].items()
            ],
            "charts": {
                "gates": charts.bar_chart(
                    [(label(gate, "gate"), n) for gate, n in events["by_gate"].items()],
                    label=_("Repair events by gate, %(days)s d") % {"days": days},
                ),
                "classes": charts.bar_chart(
                    [(row["error_class"], row["count"]) for row in events["by_error_class"]],
                    label=_("Top error classes, %(days)s d") % {"days": days},
                ),
                "per_day": charts.sparkline(
                    per_day,
                    label=ngettext(
                        "Repair events per day, last %(days)s day: %(total)s in all",
                        "Repair events per day, last %(days)s days: %(total)s in all",
                        sparkline_days,
                    )
                    % {"days": sparkline_days, "total": sum(count for _d, count in per_day)},
                ),
                "latency": charts.latency_histogram(
                    card["self_heal"]["latencies"],
                    label=_("Approval latency of %(decided)s decided requests, %(days)s d")
                    % {"decided": latency["decided"], "days": days},
                ),
            },
            "sparkline_days": sparkline_days,
            "sparkline_total": sum(count for _d, count in per_day),
            "sparkline_peak": max((count for _d, count in per_day), default=0),
        }
    )
    return context
