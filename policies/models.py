from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.roles import RISK_REVIEWER
from policies.seeded import seeded_text
from policies.tool_rules import default_tool_rules, rules_problems

L2_ACTIONS = (
    "release",
    "reclaim",
    "restart_session",
    "reset_session",
    "rerun_pipeline",
    "restart_service",  # restart or stop a service or container; the target is its name
)
# In the approval matrix: this risky action needs nobody's approval (the owner's answer to
# the third policy question may say so for release and reclaim). Never for budgets.
NO_APPROVAL = "none"


def default_approval_matrix() -> dict[str, str]:
    return dict.fromkeys(L2_ACTIONS, RISK_REVIEWER)


# When an unanswered self-heal request is re-announced to its approving role, and when it
# is escalated (PLS_ESCALATION_ROLE / PLS_ESCALATION_CHANNEL as well), in seconds after it
# was raised; null: never.
REMINDER_KINDS = ("remind_after", "escalate_after")
DEFAULT_REMIND_AFTER = 3600
DEFAULT_ESCALATE_AFTER = 4 * 3600


def default_approval_reminders() -> dict[str, dict[str, int | None]]:
    # Every action that can need approval: the risky ones and the budgeted retry and touch.
    return {
        action: {"remind_after": DEFAULT_REMIND_AFTER, "escalate_after": DEFAULT_ESCALATE_AFTER}
        for action in (*L2_ACTIONS, "retry", "touch")
    }


def default_protected_resources() -> list[str]:
    return ["*-db", "*postgres*"]


# What a policy change may set; everything else on a version is bookkeeping.
EDITABLE_FIELDS = (
    "max_auto_retries",
    "allow_auto_touch",
    "auto_proposal_threshold",
    "repeat_window",
    "approval_ttl",
    "approval_matrix",
    "approval_reminders",
    "protected_resources",
    "tool_rules",
    "tool_default",
)


DURATION_FIELDS = ("repeat_window", "approval_ttl")


def json_value(value: Any) -> Any:
    """A policy value as JSON holds it: durations in seconds."""
    return int(value.total_seconds()) if isinstance(value, timedelta) else value


def policy_values(change: dict) -> dict:
    """A change as stored in JSON (durations in seconds) as field values."""
    return {
        name: timedelta(seconds=value) if name in DURATION_FIELDS else value
        for name, value in change.items()
    }


class WorkerPolicy(models.Model):
    """One immutable version of the rules every worker action is judged by (DESIGN §3 to §4).

    The newest version is the current one. A change never edits a row: it writes the next
    version and a ``PolicyDecision`` saying who changed what and why.
    """

    version = models.PositiveIntegerField(_("version"), unique=True, editable=False)
    max_auto_retries = models.PositiveSmallIntegerField(
        _("Max auto retries"),
        default=1,
        help_text=_("Retries (and touches) a worker may take on its own, per job and error class"),
    )
    allow_auto_touch = models.BooleanField(
        _("Allow auto touch"),
        default=False,
        help_text=_("May a worker revive its stuck claim without approval?"),
    )
    auto_proposal_threshold = models.PositiveSmallIntegerField(
        _("Auto proposal threshold"),
        default=2,
        help_text=_("Repeats of one fingerprint that raise a repair proposal; 0 = never"),
    )
    repeat_window = models.DurationField(
        _("repeat window"),
        default=timedelta(hours=24),
        help_text=_(
            "Repeats of one fingerprint inside this window count towards a repair proposal"
        ),
    )
    approval_ttl = models.DurationField(
        _("approval TTL"),
        default=timedelta(hours=24),
        help_text=_("How long a self-heal request waits for a decision before it expires"),
    )
    approval_matrix = models.JSONField(
        _("Approval matrix"),
        default=default_approval_matrix,
        help_text=_("Action → role that must approve it"),
    )
    approval_reminders = models.JSONField(
        _("approval reminders"),
        default=default_approval_reminders,
        help_text=_(
            "Action → seconds after which an unanswered request is reminded "
            "(remind_after) and escalated (escalate_after)"
        ),
    )
    protected_resources = models.JSONField(
        _("protected resources"),
        default=default_protected_resources,
        help_text=_("Glob patterns of targets never touched"),
    )
    tool_rules = models.JSONField(
        _("tool rules"),
        default=default_tool_rules,
        blank=True,
        help_text=_(
            "Ordered rules reading an agent's tool call as a ladder action "
            "(policies/tool_rules.py); the first that matches decides"
        ),
    )
    tool_default = models.SlugField(
        _("tool default"),
        max_length=40,
        default="diagnose",
        help_text=_("The ladder action a tool call no rule matches is judged as"),
    )
    known_repairs = models.JSONField(
        _("known repairs"),
        default=list,
        blank=True,
        help_text=_("Adopted repair proposals: the agreed fix per error"),
    )
    answered_questions = models.JSONField(
        _("answered questions"),
        default=dict,
        blank=True,
        help_text=_("Open policy question → the answer that settled it"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )

    class Meta:
        verbose_name = _("worker policy")
        verbose_name_plural = _("worker policies")
        db_table = "worker_policies"
        ordering = ["-version"]
        permissions = [
            ("simulate_workerpolicy", _("Can replay past events through a draft policy"))
        ]

    def __str__(self) -> str:
        return gettext("Worker policy v%(version)s") % {"version": self.version}

    def tool_rule_problems(self) -> list[str]:
        """What keeps the tool rules and default from being saved, naming each rule: a
        pattern that does not compile, an example it disagrees with, an unknown action."""
        from policies.ladder import KNOWN_ACTIONS  # the ladder reads this module

        problems = rules_problems(self.tool_rules, KNOWN_ACTIONS)
        if self.tool_default not in KNOWN_ACTIONS:
            problems.append(
                gettext("tool_default %(action)s is not a ladder action.")
                % {"action": repr(self.tool_default)}
            )
        return problems

    def clean(self) -> None:
        problems = self.tool_rule_problems()
        if problems:
            raise ValidationError({"tool_rules": problems})

    def reminder_after(self, action: str, kind: str) -> timedelta | None:
        """How long after it was raised a request for ``action`` is reminded
        (``remind_after``) or escalated (``escalate_after``); None: never."""
        seconds = (self.approval_reminders or {}).get(action, {}).get(kind)
        return timedelta(seconds=seconds) if seconds else None

    def as_dict(self) -> dict:
        """The editable fields as JSON values (durations in seconds), as the API shows them."""
        return {name: json_value(getattr(self, name)) for name in EDITABLE_FIELDS}


class Proposal(models.Model):
    """Something humans decide: a repair raised by repeated errors, one of the open policy
    questions, or friction a worker reported."""

    class Kind(models.TextChoices):
        REPAIR = "repair", _("Repair")
        POLICY_QUESTION = "policy_question", _("Policy question")
        FRICTION = "friction", _("Friction")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DEFERRED = "deferred", _("Deferred")
        ADOPTED = "adopted", _("Adopted")
        REJECTED = "rejected", _("Rejected")

    # A deferred proposal is still undecided: it can be decided later and it still collects
    # the repeats of its fingerprint.
    UNDECIDED = (Status.OPEN, Status.DEFERRED)

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    title = models.CharField(_("title"), max_length=300)
    detail = models.TextField(_("detail"), blank=True)
    question_key = models.SlugField(
        _("question key"),
        max_length=50,
        blank=True,
        help_text=_("For a policy question: which of the open questions it is"),
    )
    fingerprint = models.CharField(
        _("fingerprint"),
        max_length=64,
        blank=True,
        help_text=_("For a repair: the fingerprint of the repeated error that raised it"),
    )
    error_class = models.SlugField(_("error class"), max_length=100, blank=True)
    occurrences = models.PositiveIntegerField(_("occurrences"), default=0)
    affected_workers = models.JSONField(_("affected workers"), default=list, blank=True)
    policy_change = models.JSONField(
        _("suggested policy change"),
        default=dict,
        blank=True,
        help_text=_("Policy fields this proposal would set if adopted"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("proposal")
        verbose_name_plural = _("proposals")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["fingerprint"],
                condition=Q(kind="repair", status__in=["open", "deferred"]),
                name="proposal_one_undecided_repair_per_fingerprint",
            ),
            models.UniqueConstraint(
                fields=["question_key"],
                condition=Q(kind="policy_question"),
                name="proposal_one_policy_question_per_key",
            ),
        ]
        indexes = [models.Index(fields=["status", "kind"], name="proposal_status_kind")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title_display}"

    @property
    def title_display(self) -> str:
        """The title in the reader's language when a migration seeded it (policies.seeded)."""
        return seeded_text(self.title)

    @property
    def detail_display(self) -> str:
        return seeded_text(self.detail)

    @property
    def is_undecided(self) -> bool:
        return self.status in self.UNDECIDED


class PolicyDecision(models.Model):
    """A human decision on the policy or a proposal. Append-only: on PostgreSQL a trigger
    refuses UPDATE and DELETE, and the console offers neither."""

    class Decision(models.TextChoices):
        ADOPT = "adopt", _("Adopt")
        REJECT = "reject", _("Reject")
        DEFER = "defer", _("Defer")

    proposal = models.ForeignKey(
        Proposal,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="decisions",
        verbose_name=_("proposal"),
    )
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices)
    rationale = models.TextField(_("rationale"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("decided by"),
    )
    policy_before = models.ForeignKey(
        WorkerPolicy,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("policy before"),
    )
    policy_after = models.ForeignKey(
        WorkerPolicy,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("policy after"),
    )
    changes = models.JSONField(
        _("changes"),
        default=dict,
        blank=True,
        help_text=_("Field → [before, after] for a policy change"),
    )
    decided_at = models.DateTimeField(_("decided at"), auto_now_add=True)

    class Meta:
        verbose_name = _("policy decision")
        verbose_name_plural = _("policy decisions")
        db_table = "worker_policy_decisions"
        ordering = ["-decided_at", "-id"]

    def __str__(self) -> str:
        said = {"decision": self.get_decision_display(), "by": self.decided_by}
        if self.proposal_id:
            said["pk"] = self.proposal_id
            return gettext("%(decision)s proposal #%(pk)s by %(by)s") % said
        return gettext("%(decision)s the policy by %(by)s") % said
