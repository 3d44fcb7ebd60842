"""Every write to policies, proposals and decisions goes through these functions."""

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from core.audience import later
from core.audit import ADDITION, CHANGE, audit_record, said
from core.exceptions import NotAllowed
from core.roles import PLS_OWNER, acts_as_decider, has_role
from notifications.models import DecisionKind
from notifications.services import report_enqueue
from policies import ladder
from policies.exceptions import (
    InvalidPolicyChange,
    ProposalAlreadyDecided,
    ProtectionFloorDropped,
    StalePolicyVersion,
)
from policies.models import (
    EDITABLE_FIELDS,
    PolicyDecision,
    Proposal,
    WorkerPolicy,
    json_value,
    policy_values,
)
from policies.selectors import policy_forget

Decision = PolicyDecision.Decision

# What a decision's audit entry says, by the decision and whether it made a policy version.
_DECIDED: dict[tuple[str, bool], str] = {
    (Decision.ADOPT, True): gettext_noop("Adopted, policy %(versions)s: %(rationale)s"),
    (Decision.ADOPT, False): gettext_noop("Adopted: %(rationale)s"),
    (Decision.REJECT, True): gettext_noop("Rejected, policy %(versions)s: %(rationale)s"),
    (Decision.REJECT, False): gettext_noop("Rejected: %(rationale)s"),
    (Decision.DEFER, True): gettext_noop("Deferred, policy %(versions)s: %(rationale)s"),
    (Decision.DEFER, False): gettext_noop("Deferred: %(rationale)s"),
}
OWNER_ONLY = gettext_lazy("Only the PLS owner changes the worker policy.")


def policy_change_allowed(user: User) -> bool:
    """Whether ``user`` may change the worker policy, by whichever door: a PATCH, a
    proposal decision carrying a change, an answer to a policy question, the console's
    forms. Every one of them asks here. The PLS owner only (a superuser holds every role)."""
    return has_role(user, PLS_OWNER) and user.has_perm("policies.change_workerpolicy")


def _floor_kept(changes: dict[str, Any]) -> None:
    """A change may add protected patterns, never leave out the floor's."""
    if "protected_resources" not in changes:
        return
    missing = ladder.floor_missing(changes["protected_resources"])
    if missing:
        raise ProtectionFloorDropped(
            _(
                "protected_resources must keep every pattern of the protection floor "
                "(PLS_PROTECTED_FLOOR); it leaves out %(missing)s. A policy may add "
                "patterns, never drop the floor's."
            )
            % {"missing": ", ".join(missing)},
            missing=missing,
            protected_floor=ladder.protected_floor(),
        )


def _apply(
    *,
    user: User,
    expected: WorkerPolicy | None,
    changes: dict[str, Any],
    rationale: str,
    decision: str = Decision.ADOPT,
    proposal: Proposal | None = None,
    known_repair: dict | None = None,
    answered_question: tuple[str, str] | None = None,
) -> PolicyDecision:
    """Writes the next policy version with ``changes`` and the decision record saying so.

    ``expected`` is the version the change was made against (None: whatever is current).
    Call inside a transaction.
    """
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidPolicyChange(
            _("Not policy fields: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    _floor_kept(changes)
    current = WorkerPolicy.objects.select_for_update().order_by("-version").first()
    if current is None:
        raise WorkerPolicy.DoesNotExist("No worker policy: run `manage.py migrate`.")
    if expected is not None and current.pk != expected.pk:
        raise StalePolicyVersion(
            _(
                "Version %(version)s is no longer current (v%(current)s is); re-read the "
                "policy and apply the change to the current version."
            )
            % {"version": expected.version, "current": current.version},
            current_version=current.version,
        )

    diff = {
        name: [json_value(getattr(current, name)), json_value(value)]
        for name, value in changes.items()
        if getattr(current, name) != value
    }
    following = WorkerPolicy(
        version=current.version + 1,
        created_by=user,
        known_repairs=list(current.known_repairs),
        answered_questions=dict(current.answered_questions),
        **{name: getattr(current, name) for name in EDITABLE_FIELDS},
    )
    for name, value in changes.items():
        setattr(following, name, value)
    if known_repair is not None:
        following.known_repairs.append(known_repair)
        diff["known_repairs"] = [len(current.known_repairs), len(following.known_repairs)]
    if answered_question is not None:
        key, answer = answered_question
        following.answered_questions[key] = answer
        diff["answered_questions"] = [current.answered_questions.get(key), answer]
    if not diff:
        raise InvalidPolicyChange(_("The change sets every field to its current value."))
    problems = following.tool_rule_problems()
    if problems:
        raise InvalidPolicyChange(" ".join(problems), problems=problems)
    following.save()
    transaction.on_commit(policy_forget)
    return PolicyDecision.objects.create(
        proposal=proposal,
        decision=decision,
        rationale=rationale,
        decided_by=user,
        policy_before=current,
        policy_after=following,
        changes=diff,
    )


@transaction.atomic
def policy_change(
    *, policy: WorkerPolicy, changes: dict[str, Any], rationale: str, user: User
) -> PolicyDecision:
    """The owner changes the policy directly: the next version and its decision record.

    ``policy`` is the version the owner looked at; if another change landed since, the
    change is refused rather than silently applied on top of one they have not seen.
    """
    if not policy_change_allowed(user):
        raise NotAllowed(str(OWNER_ONLY))
    decision = _apply(user=user, expected=policy, changes=changes, rationale=rationale)
    audit_record(
        user=user,
        obj=decision.policy_after or policy,
        action_flag=ADDITION,
        message=said(
            gettext_noop("Changed the worker policy %(versions)s (%(fields)s): %(rationale)s"),
            versions=_versions(decision),
            fields=", ".join(sorted(decision.changes)),
            rationale=rationale,
        ),
    )
    return decision


def _versions(decision: PolicyDecision) -> str:
    before, after = decision.policy_before, decision.policy_after
    if after is None:
        return ""
    return f"v{before.version} → v{after.version}" if before else f"v{after.version}"


def proposal_for_repeat(
    *,
    fingerprint: str,
    error_class: str,
    message: str,
    worker: str,
    repeats: int,
    rejected_since: datetime,
) -> tuple[Proposal | None, bool]:
    """Counts a repeat of ``fingerprint`` on its undecided repair proposal, raising the
    proposal if there is none. Returns it and whether it is new; (None, False) when humans
    rejected this fingerprint's proposal since ``rejected_since`` (the same burst of errors
    is not put to them again).

    Call inside the ingest transaction. A partial unique index allows one undecided repair
    proposal per fingerprint, so concurrent reporters settle on one row.
    """
    undecided = Proposal.objects.select_for_update().filter(
        kind=Proposal.Kind.REPAIR, fingerprint=fingerprint, status__in=Proposal.UNDECIDED
    )
    proposal = undecided.order_by("pk").first()
    if proposal is not None:
        return _repeat_counted(proposal, worker), False
    recently_rejected = Proposal.objects.filter(
        kind=Proposal.Kind.REPAIR,
        fingerprint=fingerprint,
        status=Proposal.Status.REJECTED,
        updated_at__gte=rejected_since,
    )
    if recently_rejected.exists():
        return None, False
    try:
        with transaction.atomic():
            proposal = Proposal.objects.create(
                kind=Proposal.Kind.REPAIR,
                fingerprint=fingerprint,
                error_class=error_class,
                title=f"Repeated {error_class}: {message[:200] or 'no message'}",
                detail=(
                    f"The same error fingerprint was reported {repeats} times inside the "
                    "repeat window. Decide whether to adopt a repair into the worker policy."
                ),
                occurrences=repeats,
                affected_workers=[worker],
            )
    except IntegrityError:
        # Another reporter raised it since the read above.
        return _repeat_counted(undecided.get(), worker), False
    report_enqueue(
        source="proposal.created",
        title=later(
            gettext_lazy("Repair proposal #%(id)s: %(error_class)s repeated %(count)s times"),
            id=proposal.pk,
            error_class=error_class,
            count=repeats,
        ),
        status="warning",
        worker=worker,
        task_id=f"proposal-{proposal.pk}",
        progress=proposal.title,
        next_step=gettext_lazy("Adopt or reject it in the console (Proposals)."),
        dedup_key=f"proposal.created:{proposal.pk}",
        link=reverse("admin:policies_proposal_change", args=[proposal.pk]),
        decision_kind=DecisionKind.PROPOSAL,
        decision_id=proposal.pk,
    )
    return proposal, True


def _repeat_counted(proposal: Proposal, worker: str) -> Proposal:
    # The row is locked (select_for_update), so counting in Python loses no concurrent repeat.
    proposal.occurrences += 1
    if worker not in proposal.affected_workers:
        proposal.affected_workers.append(worker)
    proposal.save(update_fields=["occurrences", "affected_workers", "updated_at"])
    return proposal


@transaction.atomic
def proposal_decide(
    *,
    proposal: Proposal,
    user: User,
    decision: str,
    rationale: str,
    policy_change: dict[str, Any] | None = None,
    fix: str = "",
) -> PolicyDecision:
    """Decides a proposal (``_decide``) and writes the decider's audit entry."""
    record = _decide(
        proposal=proposal,
        user=user,
        decision=decision,
        rationale=rationale,
        policy_change=policy_change,
        fix=fix,
    )
    versions = _versions(record)
    audit_record(
        user=user,
        obj=record.proposal or proposal,
        action_flag=CHANGE,
        message=said(_DECIDED[decision, bool(versions)], versions=versions, rationale=rationale),
    )
    return record


def _decide(
    *,
    proposal: Proposal,
    user: User,
    decision: str,
    rationale: str,
    policy_change: dict[str, Any] | None,
    fix: str,
) -> PolicyDecision:
    """Decides a proposal. Adopting one that changes the policy writes the next policy
    version in the same transaction as the decision, so neither exists without the other.

    Answering a policy question (adopt or reject) always yields a new version that records
    the answer; deferring leaves the proposal open and the policy as it is.

    Only an adoption changes policy fields: a reject or defer carrying a ``policy_change``
    is refused (``InvalidPolicyChange``) rather than applied or silently dropped, since
    either would leave the decider believing something that is not so. An adoption that
    changes policy fields (the ``policy_change`` given, or the proposal's own) needs
    ``policy_change_allowed``; the risk reviewer adopts repairs without one.
    """
    proposal = Proposal.objects.select_for_update().get(pk=proposal.pk)
    _check_decider(proposal, user)
    if not proposal.is_undecided:
        raise ProposalAlreadyDecided(
            _("Proposal #%(id)s was already %(status)s.")
            % {"id": proposal.pk, "status": proposal.status},
            current_status=proposal.status,
        )
    if decision != Decision.ADOPT and policy_change:
        raise InvalidPolicyChange(
            _(
                "A %(decision)s never changes the policy; only adopt carries a "
                "policy_change. Send the decision without it (and change the policy as the "
                "owner, if need be)."
            )
            % {"decision": decision}
        )
    changes = {}
    if decision == Decision.ADOPT:
        changes = dict(
            policy_values(proposal.policy_change) if policy_change is None else policy_change
        )
    if changes and not policy_change_allowed(user):
        raise NotAllowed(
            _(
                "%(owner_only)s Adopt proposal #%(proposal)s without a policy_change, or ask "
                "the owner to adopt it."
            )
            % {"owner_only": OWNER_ONLY, "proposal": proposal.pk}
        )
    outcomes: dict[str, Proposal.Status] = {
        Decision.ADOPT: Proposal.Status.ADOPTED,
        Decision.REJECT: Proposal.Status.REJECTED,
        Decision.DEFER: Proposal.Status.DEFERRED,
    }
    proposal.status = outcomes[decision]
    proposal.save(update_fields=["status", "updated_at"])

    if decision == Decision.DEFER:
        return PolicyDecision.objects.create(
            proposal=proposal, decision=decision, rationale=rationale, decided_by=user
        )
    known_repair = None
    answered = None
    if proposal.kind == Proposal.Kind.POLICY_QUESTION:
        answered = (proposal.question_key, decision)
    elif decision == Decision.ADOPT and proposal.kind == Proposal.Kind.REPAIR:
        known_repair = {
            "proposal": proposal.pk,
            "error_class": proposal.error_class,
            "fingerprint": proposal.fingerprint,
            "fix": fix or rationale,
        }
    if not changes and known_repair is None and answered is None:
        return PolicyDecision.objects.create(
            proposal=proposal, decision=decision, rationale=rationale, decided_by=user
        )
    return _apply(
        user=user,
        expected=None,  # a proposal applies to whatever version is current
        changes=changes,
        rationale=rationale,
        decision=decision,
        proposal=proposal,
        known_repair=known_repair,
        answered_question=answered,
    )


def _check_decider(proposal: Proposal, user: User) -> None:
    if proposal.kind == Proposal.Kind.POLICY_QUESTION:
        # An answer writes a policy version, whatever it says.
        if not policy_change_allowed(user):
            raise NotAllowed(_("Only the PLS owner answers policy questions."))
        return
    if not acts_as_decider(user):
        raise NotAllowed(_("Only the PLS owner or the risk reviewer decides proposals."))
