"""Proposals decided by admin actions, and the read-only decision records."""

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import (
    ExportableAdmin,
    ReadOnlyAdmin,
    SerializerForm,
    admin_link,
    decide_selected,
    may_decide,
)
from policies.admin.display import changes_list
from policies.api import DecisionOutput, ProposalDecideInput
from policies.models import PolicyDecision, Proposal
from policies.selectors import decision_list, open_question_count, proposal_list
from policies.services import OWNER_ONLY, policy_change_allowed, proposal_decide

Decision = PolicyDecision.Decision


class OptionalJSONField(forms.JSONField):
    """Blank, not ``null``, when there is no value, so leaving it blank means "not given"."""

    def prepare_value(self, value: Any) -> Any:
        return "" if value is None else super().prepare_value(value)


class ProposalDecisionForm(SerializerForm):
    """The reasons for a decision, checked by the API's ``ProposalDecideInput``."""

    serializer_class = ProposalDecideInput
    decision: str

    rationale = forms.CharField(
        label=_("Rationale"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Why; kept in the decision record."),
    )

    def serializer_data(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        return {**super().serializer_data(cleaned), "decision": self.decision}


class ProposalRejectForm(ProposalDecisionForm):
    decision = Decision.REJECT


class ProposalAdoptForm(ProposalDecisionForm):
    """Adopt, with a policy change for those who may change the policy
    (``policy_change_allowed``); the risk reviewer adopts repairs without one."""

    decision = Decision.ADOPT

    policy_change = OptionalJSONField(
        label=_("Policy change"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text=_(
            "Optional JSON object of policy fields to set (durations in seconds). Blank: "
            "each proposal's own suggested change. {}: adopt without changing policy fields."
        ),
    )
    fix = forms.CharField(
        label=_("Fix"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_(
            "For a repair proposal: the fix workers should apply (default: the rationale)."
        ),
    )

    def __init__(self, *args: Any, may_change_policy: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.may_change_policy = may_change_policy
        if not may_change_policy:
            del self.fields["policy_change"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        # The field is not offered, so a change posted anyway is refused, not dropped.
        if not self.may_change_policy and str(self.data.get("policy_change", "")).strip():
            self.add_error(
                None,
                gettext("%(owner_only)s Adopt without a policy change, or ask the owner.")
                % {"owner_only": OWNER_ONLY},
            )
        return cleaned


def _outcome(status: str) -> str:
    """A decided proposal's status as a message says it ("Proposal #3 adopted")."""
    said = {
        Proposal.Status.ADOPTED: gettext("adopted"),
        Proposal.Status.REJECTED: gettext("rejected"),
        Proposal.Status.DEFERRED: gettext("deferred"),
    }
    return said.get(status, status)


class ProposalDeferForm(ProposalDecisionForm):
    decision = Decision.DEFER


@admin.register(Proposal)
class ProposalAdmin(ReadOnlyAdmin):
    """Proposals change only by a decision: the Adopt / Reject / Defer actions, offered to
    the owner and the risk reviewer (policy questions: the service lets only the owner)."""

    list_display = [
        "id",
        "title_display",
        "kind",
        "status",
        "occurrences",
        "workers",
        "short_fingerprint",
        "updated_at",
    ]
    list_display_links = ["id", "title_display"]
    list_filter = ["kind", "status"]
    search_fields = ["title", "fingerprint", "error_class", "question_key"]
    fields = [
        "kind",
        "status",
        "title_display",
        "detail_display",
        "question_key",
        "error_class",
        "fingerprint",
        "occurrences",
        "affected_workers",
        "suggested_change",
        "decision_records",
        "created_at",
        "updated_at",
    ]
    readonly_fields = [
        "title_display",
        "detail_display",
        "suggested_change",
        "decision_records",
        "created_at",
        "updated_at",
    ]
    actions = ["adopt", "reject", "defer"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Proposal]:
        return proposal_list()

    # A seeded policy question reads in the reader's language (policies.seeded).
    @admin.display(description=Proposal._meta.get_field("title").verbose_name, ordering="title")
    def title_display(self, proposal: Proposal) -> str:
        return proposal.title_display

    @admin.display(description=Proposal._meta.get_field("detail").verbose_name)
    def detail_display(self, proposal: Proposal) -> str:
        return proposal.detail_display

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return may_decide(request, "policies.change_proposal")

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        questions = proposal_list().filter(kind=Proposal.Kind.POLICY_QUESTION)
        context = {
            "questions_open": open_question_count(),
            "questions_total": questions.count(),
            "undecided": ",".join(Proposal.UNDECIDED),
        }
        return super().changelist_view(request, {**context, **(extra_context or {})})

    @admin.display(description=_("affected workers"))
    def workers(self, proposal: Proposal) -> str:
        return ", ".join(proposal.affected_workers) or "—"

    @admin.display(description=_("fingerprint"), ordering="fingerprint")
    def short_fingerprint(self, proposal: Proposal) -> str:
        return proposal.fingerprint[:12] or "—"

    @admin.display(description=_("suggested policy change"))
    def suggested_change(self, proposal: Proposal) -> str:
        return json.dumps(proposal.policy_change, sort_keys=True) if proposal.policy_change else "—"

    @admin.display(description=_("decisions"))
    def decision_records(self, proposal: Proposal) -> str:
        decisions = decision_list().filter(proposal=proposal)
        return (
            format_html_join(
                ", ",
                "{}",
                ((admin_link(d, f"#{d.pk} {d.get_decision_display()}"),) for d in decisions),
            )
            or "—"
        )

    @admin.action(description=_("Adopt selected proposals…"), permissions=["decide"])
    def adopt(self, request: HttpRequest, queryset: QuerySet[Proposal]) -> HttpResponse | None:
        return self._decide(request, queryset, ProposalAdoptForm)

    @admin.action(description=_("Reject selected proposals…"), permissions=["decide"])
    def reject(self, request: HttpRequest, queryset: QuerySet[Proposal]) -> HttpResponse | None:
        return self._decide(request, queryset, ProposalRejectForm)

    @admin.action(description=_("Defer selected proposals…"), permissions=["decide"])
    def defer(self, request: HttpRequest, queryset: QuerySet[Proposal]) -> HttpResponse | None:
        return self._decide(request, queryset, ProposalDeferForm)

    def _decide(
        self,
        request: HttpRequest,
        queryset: QuerySet[Proposal],
        form_class: type[ProposalDecisionForm],
    ) -> HttpResponse | None:
        def decide(proposal: Proposal, data: dict[str, Any]) -> str:
            # ``data`` is ProposalDecideInput's output: the service's own arguments.
            decision = proposal_decide(proposal=proposal, user=request.user, **data)
            said = {
                "pk": proposal.pk,
                "status": _outcome(decision.proposal.status),
                "decision": decision.pk,
            }
            if not decision.policy_after_id:
                return gettext("Proposal #%(pk)s %(status)s (decision #%(decision)s).") % said
            said["before"] = decision.policy_before.version
            said["after"] = decision.policy_after.version
            return (
                gettext(
                    "Proposal #%(pk)s %(status)s (decision #%(decision)s, "
                    "policy v%(before)s → v%(after)s)."
                )
                % said
            )

        titles = {
            Decision.ADOPT: gettext("Adopt proposals"),
            Decision.REJECT: gettext("Reject proposals"),
            Decision.DEFER: gettext("Defer proposals"),
        }
        form_kwargs = {}
        if form_class is ProposalAdoptForm:
            form_kwargs["may_change_policy"] = policy_change_allowed(request.user)
        return decide_selected(
            self,
            request,
            queryset,
            form_class=form_class,
            noun=gettext("Proposal"),
            title=titles[form_class.decision],
            decide=decide,
            form_kwargs=form_kwargs,
        )


# --- Decision records ------------------------------------------------------------------------


@admin.register(PolicyDecision)
class PolicyDecisionAdmin(ExportableAdmin, ReadOnlyAdmin):
    export_serializer = DecisionOutput
    export_name = "worker-policy-decisions"

    """The append-only record of every decision (on PostgreSQL the database refuses UPDATE
    and DELETE too)."""

    list_display = [
        "id",
        "decided_at",
        "decision",
        "proposal_link",
        "decided_by",
        "versions",
        "changes_readable",
    ]
    list_display_links = ["id", "decided_at"]
    list_filter = ["decision", "proposal__kind"]
    search_fields = ["rationale", "decided_by__username"]
    fields = [
        "decision",
        "proposal_link",
        "decided_by",
        "decided_at",
        "rationale",
        "versions",
        "changes_readable",
    ]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[PolicyDecision]:
        return decision_list()

    @admin.display(description=_("proposal"), ordering="proposal")
    def proposal_link(self, decision: PolicyDecision) -> str:
        if decision.proposal_id:
            return admin_link(decision.proposal)
        return gettext("— (policy change)")

    @admin.display(description=_("policy before → after"))
    def versions(self, decision: PolicyDecision) -> str:
        if not decision.policy_after_id:
            return gettext("— (no new version)")
        return format_html(
            "{} → {}",
            admin_link(decision.policy_before, f"v{decision.policy_before.version}"),
            admin_link(decision.policy_after, f"v{decision.policy_after.version}"),
        )

    @admin.display(description=_("changes"))
    def changes_readable(self, decision: PolicyDecision) -> str:
        return changes_list(decision.changes)
