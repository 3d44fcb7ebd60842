"""Policy versions, read-only, and the owner's change page with its simulation preview."""

from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Case, QuerySet, Subquery, Value, When
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin, SerializerForm, admin_link
from core.exceptions import DomainError
from policies import ladder
from policies.admin.display import duration, readable
from policies.api import PolicyChangeInput
from policies.exceptions import StalePolicyVersion
from policies.models import EDITABLE_FIELDS, NO_APPROVAL, WorkerPolicy
from policies.selectors import decision_list, policy_current
from policies.services import policy_change, policy_change_allowed
from policies.simulation import (
    past_actions,
    past_tool_calls,
    policy_draft,
    simulate,
    simulate_tool_calls,
)

PREVIEW_DAYS = 7


class PolicyChangeForm(SerializerForm):
    """The editable fields of one policy version, prefilled from it. Durations are seconds,
    as in the API; the rules are ``PolicyChangeInput``'s."""

    serializer_class = PolicyChangeInput

    base = forms.ModelChoiceField(queryset=WorkerPolicy.objects.all(), widget=forms.HiddenInput)
    max_auto_retries = forms.IntegerField(
        label=_("Max auto retries"),
        help_text=WorkerPolicy._meta.get_field("max_auto_retries").help_text,
    )
    allow_auto_touch = forms.BooleanField(
        label=_("Allow auto touch"),
        required=False,
        help_text=WorkerPolicy._meta.get_field("allow_auto_touch").help_text,
    )
    auto_proposal_threshold = forms.IntegerField(
        label=_("Auto proposal threshold"),
        help_text=WorkerPolicy._meta.get_field("auto_proposal_threshold").help_text,
    )
    repeat_window = forms.IntegerField(
        label=_("Repeat window (seconds)"),
        help_text=_(
            "Repeats of one fingerprint inside this window count towards a repair "
            "proposal. 86400 = 24 h."
        ),
    )
    approval_ttl = forms.IntegerField(
        label=_("Approval TTL (seconds)"),
        help_text=_(
            "How long a self-heal request waits for a decision before it expires. 86400 = 24 h."
        ),
    )
    approval_matrix = forms.JSONField(
        label=_("Approval matrix"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 7, "cols": 60}),
        help_text=format_lazy(
            _(
                "JSON object: action → the role that approves it (risk_reviewer or pls_owner), "
                "or {none} for a risky action that needs no approval. Actions: {actions}. An "
                "action not named goes to risk_reviewer."
            ),
            none=repr(NO_APPROVAL),
            actions=", ".join((*ladder.RISKY, *ladder.BUDGETED)),
        ),
    )
    approval_reminders = forms.JSONField(
        label=_("Approval reminders"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 7, "cols": 60}),
        help_text=_(
            'JSON object: action → {"remind_after": seconds, "escalate_after": seconds}. An '
            "unanswered request is re-announced to its approving role after remind_after, and "
            "after escalate_after to the escalation role too; null or an action not named: "
            "never."
        ),
    )
    protected_resources = forms.CharField(
        required=False,
        label=_("Further protected resources"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text=_(
            "Glob patterns of further targets workers never act on, one a line. The "
            "protection floor above always applies and cannot be edited here."
        ),
    )
    tool_rules = forms.JSONField(
        label=_("Tool rules"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 16, "cols": 90}),
        help_text=_(
            "JSON list, in order (the first matching rule decides): each rule has a name, "
            "tool (regex over the tool name), input (regex over the command, path or URL), "
            "action, target (a named group of input) and must_match / must_not_match "
            "examples, checked when saved."
        ),
    )
    tool_default = forms.ChoiceField(
        label=_("Tool default"),
        choices=[(action, action) for action in ladder.KNOWN_ACTIONS],
        help_text=WorkerPolicy._meta.get_field("tool_default").help_text,
    )
    rationale = forms.CharField(
        label=_("Rationale"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Why; kept in the decision record."),
    )
    days = forms.IntegerField(
        min_value=1,
        max_value=90,
        initial=PREVIEW_DAYS,
        label=_("Preview window (days)"),
        help_text=_(
            "The preview replays the workers' actions of this many days through the draft."
        ),
    )

    @classmethod
    def for_version(cls, policy: WorkerPolicy) -> "PolicyChangeForm":
        values = policy.as_dict()
        # The floor is shown apart, locked; the box holds what this policy adds to it.
        values["protected_resources"] = "\n".join(ladder.beyond_floor(policy.protected_resources))
        return cls(initial={**values, "base": policy.pk, "days": PREVIEW_DAYS})

    def serializer_data(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        data = {name: cleaned[name] for name in EDITABLE_FIELDS}
        for name in ("approval_matrix", "approval_reminders"):
            if data[name] is None:
                data[name] = {}
        if data["tool_rules"] is None:
            data["tool_rules"] = []
        added = [
            line.strip() for line in cleaned["protected_resources"].splitlines() if line.strip()
        ]
        data["protected_resources"] = [*ladder.protected_floor(), *ladder.beyond_floor(added)]
        data["rationale"] = cleaned["rationale"]
        return data

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.errors and not self.changes:
            raise ValidationError(
                gettext("Nothing to change: every field holds the value of v%(version)s.")
                % {"version": cleaned["base"].version}
            )
        return cleaned

    @property
    def changes(self) -> dict[str, Any]:
        """The fields whose value differs from the version the form was filled from."""
        base = self.cleaned_data["base"]
        return {
            name: value
            for name, value in self.validated.items()
            if name in EDITABLE_FIELDS and not _same(name, value, getattr(base, name))
        }


def _same(name: str, value: Any, before: Any) -> bool:
    """Whether a field keeps its value. The protected patterns are compared by what the
    policy adds to the floor: a version written before the floor listed less of it, and
    the form always sends the whole floor."""
    if name == "protected_resources":
        return ladder.beyond_floor(value) == ladder.beyond_floor(before)
    return value == before


def policy_preview(form: PolicyChangeForm) -> dict[str, Any]:
    """The diff before → after and the simulation of the draft over the preview window."""
    base = form.cleaned_data["base"]
    days = form.cleaned_data["days"]
    draft = policy_draft(base, form.changes)
    before, after = base.as_dict(), draft.as_dict()
    since = timezone.now() - timedelta(days=days)
    actions, truncated = past_actions(since=since, limit=settings.PLS_SIMULATION_MAX_EVENTS)
    simulation = simulate(draft, actions)
    calls, calls_truncated = past_tool_calls(since=since, limit=settings.PLS_SIMULATION_MAX_EVENTS)
    decisions = [ladder.ALLOWED, ladder.NEEDS_APPROVAL, ladder.DENIED]
    decisions += sorted(set(simulation["actual"]) - set(decisions))  # "none": before verdicts
    return {
        "diff": [
            (name, readable(name, before[name]), readable(name, after[name]))
            for name in form.changes
        ],
        "days": days,
        "since": since,
        "truncated": truncated,
        "simulation": simulation,
        "tool_calls": {"truncated": calls_truncated, **simulate_tool_calls(draft, calls)},
        "verdicts": [
            (name, simulation["actual"].get(name, 0), simulation["simulated"].get(name, 0))
            for name in decisions
        ],
    }


@admin.register(WorkerPolicy)
class WorkerPolicyAdmin(ReadOnlyAdmin):
    """Versions are immutable; the owner changes the policy on its own page, which writes
    the next version."""

    list_display = [
        "version",
        "is_current",
        "max_auto_retries",
        "allow_auto_touch",
        "auto_proposal_threshold",
        "repeat_window_display",
        "approval_ttl_display",
        "created_by",
        "created_at",
    ]
    list_display_links = ["version"]
    list_select_related = ["created_by"]
    fields = [
        "version",
        "created_by",
        "created_at",
        "made_by",
        *EDITABLE_FIELDS,
        "known_repairs",
        "answered_questions",
    ]
    readonly_fields = ["version", "created_by", "created_at", "made_by"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[WorkerPolicy]:
        newest = WorkerPolicy.objects.order_by("-version").values("version")[:1]
        return (
            super()
            .get_queryset(request)
            .annotate(
                current=Case(
                    When(version=Subquery(newest), then=Value(True)),
                    default=Value(False),
                    output_field=models.BooleanField(),
                )
            )
        )

    @admin.display(description=_("current"), boolean=True)
    def is_current(self, policy: WorkerPolicy) -> bool:
        return policy.current  # type: ignore[attr-defined]

    @admin.display(description=_("repeat window"), ordering="repeat_window")
    def repeat_window_display(self, policy: WorkerPolicy) -> str:
        return duration(policy.repeat_window)

    @admin.display(description=_("approval TTL"), ordering="approval_ttl")
    def approval_ttl_display(self, policy: WorkerPolicy) -> str:
        return duration(policy.approval_ttl)

    @admin.display(description=_("made by decision"))
    def made_by(self, policy: WorkerPolicy) -> str:
        decision = decision_list().filter(policy_after=policy).first()
        return admin_link(decision, f"#{decision.pk}: {decision.rationale}") if decision else "—"

    def has_change_policy_permission(self, request: HttpRequest) -> bool:
        return policy_change_allowed(request.user)

    def get_urls(self) -> list:
        change_policy = path(
            "change-policy/",
            self.admin_site.admin_view(self.change_policy_view),
            name="policies_workerpolicy_change_policy",
        )
        return [change_policy, *super().get_urls()]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        context = {"may_change_policy": self.has_change_policy_permission(request)}
        return super().changelist_view(request, {**context, **(extra_context or {})})

    def change_policy_view(self, request: HttpRequest) -> HttpResponse:
        """Edit → Preview (diff and simulation) → Confirm, which writes the next version
        from the version the page was filled from (a stale one is refused, not overwritten).
        """
        if not self.has_change_policy_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return self._change_policy_page(request, PolicyChangeForm.for_version(policy_current()))
        form = PolicyChangeForm(request.POST)
        if "_edit" in request.POST or not form.is_valid():
            return self._change_policy_page(request, form)
        if "_confirm" not in request.POST:
            return self._change_policy_page(request, form, preview=policy_preview(form))
        try:
            decision = policy_change(
                policy=form.cleaned_data["base"],
                changes=form.changes,
                rationale=form.validated["rationale"],
                user=request.user,
            )
        except StalePolicyVersion as stale:
            # Start again from the version now in force rather than re-apply a form whose
            # other fields still hold the old values.
            self.message_user(request, stale.detail, messages.ERROR)
            return HttpResponseRedirect(request.path)
        except DomainError as refused:
            self.message_user(request, refused.detail, messages.ERROR)
            return self._change_policy_page(request, form)
        self.message_user(
            request,
            gettext("Worker policy v%(version)s is in force (decision #%(pk)s).")
            % {"version": decision.policy_after.version, "pk": decision.pk},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:policies_workerpolicy_changelist"))

    def _change_policy_page(
        self, request: HttpRequest, form: PolicyChangeForm, preview: dict | None = None
    ) -> TemplateResponse:
        current = policy_current()
        # The version the form was filled from: the current one, unless another change
        # landed since the owner opened the page.
        base = getattr(form, "cleaned_data", {}).get("base") or current
        context = {
            **self.admin_site.each_context(request),
            "title": _("Change the worker policy"),
            "opts": self.opts,
            "form": form,
            "base": base,
            "stale": base.pk != current.pk,
            "current": current,
            "preview": preview,
            "protected_floor": ladder.protected_floor(),
        }
        return TemplateResponse(request, "admin/policies/workerpolicy/change_policy.html", context)


# --- Proposals -------------------------------------------------------------------------------
