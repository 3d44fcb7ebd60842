import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models
from django.db.models import Case, Q, Value, When
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from core.models import WebhookSigned
from core.roles import acting_worker, has_role
from policies.ladder import Decision


class Gate(models.TextChoices):
    STUCK_CLAIM = "stuck_claim", _("Stuck claim")
    REPAIR_SUGGESTED = "repair_suggested", _("Repair suggested")
    ARTIFACT_GUARD = "artifact_guard", _("Artifact guard")
    WORKER_LEARNING = "worker_learning", _("Worker learning")
    FRICTION = "friction", _("Friction")
    # An agent's tool call the policy escalated: the event its self-heal request stands on.
    TOOL_CALL = "tool_call", _("Tool call")


class Outcome(models.TextChoices):
    RESOLVED = "resolved", _("Resolved")
    FAILED = "failed", _("Failed")


class Worker(WebhookSigned):
    """An AI coding worker process. It acts through its own Django user in group ``worker``.

    Its self-heal callbacks are signed the Standard Webhooks way with a secret of its own
    (``WebhookSigned``), never with anything derived from its tokens."""

    class Status(models.TextChoices):
        IDLE = "idle", _("Idle")
        RUNNING = "running", _("Running")
        ERROR = "error", _("Error")
        PAUSED = "paused", _("Paused")

    class Kind(models.TextChoices):
        CODEX = "codex", "Codex"
        CLAUDE_CODE = "claude_code", "Claude Code"
        OTHER = "other", _("Other")

    name = models.SlugField(
        max_length=100,
        unique=True,
        verbose_name=_("name"),
        help_text=_("Its identity in events and its user name; set once"),
    )
    team = models.SlugField(max_length=100, verbose_name=_("team"))
    kind = models.CharField(
        max_length=20,
        choices=Kind.choices,
        default=Kind.OTHER,
        verbose_name=_("kind"),
        help_text=_("Which coding agent it runs"),
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.IDLE, verbose_name=_("status")
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="worker",
        editable=False,
        verbose_name=_("user"),
    )
    last_heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    paused_reason = models.CharField(
        max_length=300,
        blank=True,
        help_text=_("Told to the worker when a paused worker calls"),
        verbose_name=_("paused reason"),
    )
    monthly_budget_cents = models.PositiveBigIntegerField(
        default=0,
        help_text=_("0 = no budget set"),
        verbose_name=_("monthly budget (cents)"),
    )
    month_spend_cents = models.PositiveBigIntegerField(
        default=0, verbose_name=_("spend this month (cents)")
    )
    # The budget month (its 1st, UTC) that month_spend_cents counts; a new month starts at 0.
    budget_month = models.DateField(
        null=True,
        blank=True,
        editable=False,
        verbose_name=_("budget month"),
        help_text=_("The month (its first day, UTC) that the month's spend counts"),
    )
    # The budget month the owner was last warned about at 80 %, so the warning goes once.
    budget_warned_month = models.DateField(
        null=True,
        blank=True,
        editable=False,
        verbose_name=_("budget warned month"),
        help_text=_("The budget month the owner was warned about at 80 %"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("worker")
        verbose_name_plural = _("workers")
        ordering = ["team", "name"]

    def __str__(self) -> str:
        return self.name


class WorkerToken(models.Model):
    """An API token. Only its SHA-256 digest is stored; the token is shown once, at issue."""

    worker = models.ForeignKey(
        Worker, on_delete=models.PROTECT, related_name="tokens", verbose_name=_("worker")
    )
    digest = models.CharField(
        max_length=64,
        unique=True,
        editable=False,
        verbose_name=_("token hash"),
        help_text=_("The SHA-256 of the token; the token itself is not stored"),
    )
    prefix = models.CharField(
        max_length=16, editable=False, help_text=_("Identifies the token"), verbose_name=_("prefix")
    )
    label = models.CharField(max_length=100, blank=True, verbose_name=_("label"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    last_used_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("last used at")
    )
    revoked_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("revoked at")
    )
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("revoked by"),
    )

    class Meta:
        verbose_name = _("worker token")
        verbose_name_plural = _("worker tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.worker})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Job(models.Model):
    """A unit of work in the PLS queue, mirrored here so claims and leases can be governed."""

    class Priority(models.TextChoices):
        HIGH = "high", pgettext_lazy("priority", "High")
        MEDIUM = "medium", pgettext_lazy("priority", "Medium")
        LOW = "low", pgettext_lazy("priority", "Low")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLAIMED = "claimed", _("Claimed")
        STUCK = "stuck", _("Stuck")
        COMPLETED = "completed", _("Completed")

    external_id = models.CharField(
        max_length=200,
        unique=True,
        verbose_name=_("external id"),
        help_text=_("The job's id in the PLS queue; set once"),
    )
    title = models.CharField(max_length=300, verbose_name=_("title"))
    priority = models.CharField(
        max_length=10, choices=Priority.choices, default=Priority.MEDIUM, verbose_name=_("priority")
    )
    # high → 1, medium → 2, low → 3: claim-next orders by it, with the index below.
    priority_rank = models.GeneratedField(
        expression=Case(
            When(priority="high", then=Value(1)),
            When(priority="medium", then=Value(2)),
            default=Value(3),
        ),
        output_field=models.PositiveSmallIntegerField(),
        db_persist=True,
        verbose_name=_("priority rank"),
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN, verbose_name=_("status")
    )
    claimed_by = models.ForeignKey(
        Worker,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="claimed_jobs",
        verbose_name=_("claimed by"),
    )
    claimed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("claimed at"))
    lease_expires_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("lease expires at")
    )
    attempts = models.PositiveIntegerField(
        default=0, verbose_name=_("attempts"), help_text=_("How many times the job was claimed")
    )
    progress = models.TextField(blank=True, verbose_name=_("progress"))
    stuck_at = models.DateTimeField(null=True, blank=True, verbose_name=_("stuck at"))
    completed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("completed at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = ["-created_at"]
        indexes = [
            # claim-next: the oldest open job of the highest priority.
            models.Index(
                fields=["priority_rank", "created_at", "id"],
                condition=Q(status="open"),
                name="job_open_queue",
            ),
            # The stuck-claim watchdog: claimed jobs by lease expiry.
            models.Index(
                fields=["lease_expires_at"], condition=Q(status="claimed"), name="job_claimed_lease"
            ),
        ]

    def __str__(self) -> str:
        return self.external_id

    def is_held_by(self, worker: "Worker") -> bool:
        """Whether ``worker`` is the job's holder: the worker whose claim it carries (a
        claimed or stuck job, or one it completed). Only the holder heartbeats, completes,
        releases or reports on it. The lease does not enter: a holder whose lease ran out
        is still the holder until the watchdog, a release or a reclaim says otherwise."""
        return self.claimed_by_id == worker.pk


class RepairEvent(models.Model):
    """One report from a worker: what failed, where, and what it wants to do about it.

    Append-only: rows are never edited or deleted through the product.
    """

    worker = models.ForeignKey(
        Worker, on_delete=models.PROTECT, related_name="repair_events", verbose_name=_("worker")
    )
    job = models.ForeignKey(
        Job,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="repair_events",
        verbose_name=_("job"),
    )
    job_ref = models.CharField(
        max_length=200,
        blank=True,
        help_text=_("The job's external id as the worker reported it"),
        verbose_name=_("job reference"),
    )
    gate = models.CharField(max_length=20, choices=Gate.choices, verbose_name=_("gate"))
    error_class = models.SlugField(_("error class"), max_length=100)
    fingerprint = models.CharField(
        max_length=64,
        verbose_name=_("fingerprint"),
        help_text=_("The same error class and message shape give the same fingerprint"),
    )
    phase = models.CharField(max_length=200, blank=True, verbose_name=_("phase"))
    action = models.SlugField(max_length=40, blank=True, verbose_name=_("action"))
    message = models.TextField(blank=True, verbose_name=_("message"))
    evidence = models.TextField(blank=True, verbose_name=_("evidence"))
    evidence_cut_bytes = models.PositiveIntegerField(
        default=0,
        verbose_name=_("evidence bytes cut"),
        help_text=_("Bytes cut from the middle of the evidence to keep it within its limit"),
    )
    redactions = models.PositiveIntegerField(
        default=0,
        verbose_name=_("redactions"),
        help_text=_("Secrets replaced in the evidence before it was stored"),
    )
    repeat_count = models.PositiveIntegerField(
        default=1,
        verbose_name=_("repeat count"),
        help_text=_("How often the same fingerprint was reported in the repeat window"),
    )
    # Whether the repair worked, reported by the worker (at once or later) or set by the owner
    # in the console; blank until someone says. Set once.
    outcome = models.CharField(
        max_length=10,
        choices=Outcome.choices,
        blank=True,
        verbose_name=_("outcome"),
        help_text=_("Whether the repair worked; set once"),
    )
    resolved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("resolved at"))
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("resolved by"),
    )
    target = models.CharField(
        max_length=200,
        blank=True,
        help_text=_("What the action would act on (default: the job)"),
        verbose_name=_("target"),
    )
    # The verdict the policy gave the action, as returned to the worker; the decision is
    # also a column of its own so dashboards can count it.
    verdict = models.JSONField(null=True, blank=True, verbose_name=_("verdict"))
    decision = models.CharField(
        max_length=20,
        blank=True,
        db_index=True,
        choices=Decision.choices,
        verbose_name=_("decision"),
    )
    policy = models.ForeignKey(
        "policies.WorkerPolicy",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("policy"),
    )
    proposal = models.ForeignKey(
        "policies.Proposal",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="events",
        verbose_name=_("proposal"),
    )
    token = models.ForeignKey(
        WorkerToken,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The token the event was reported with"),
        verbose_name=_("token"),
    )
    occurred_at = models.DateTimeField(verbose_name=_("occurred at"))
    received_at = models.DateTimeField(auto_now_add=True, verbose_name=_("received at"))

    class Meta:
        verbose_name = _("repair event")
        verbose_name_plural = _("repair events")
        db_table = "worker_repair_events"
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["fingerprint", "occurred_at"], name="repair_event_fp_time"),
            models.Index(fields=["occurred_at"], name="repair_event_time"),
            models.Index(fields=["gate", "occurred_at"], name="repair_event_gate_time"),
            models.Index(fields=["error_class", "occurred_at"], name="repair_event_class_time"),
            # The retry budget: this worker's earlier automatic actions on one job and class.
            models.Index(
                fields=["worker", "job_ref", "error_class", "action"], name="repair_event_budget"
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(gate)s/%(error_class)s by %(worker)s #%(id)s") % {
            "gate": self.gate,
            "error_class": self.error_class,
            "worker": self.worker_id,
            "id": self.pk,
        }


class RepeatCounter(models.Model):
    """How often one fingerprint was reported lately: the repeat window in ``len(counts)``
    slices of ``bucket_seconds`` each (the window's length divided by the number of slices),
    newest first, the newest being slice number ``newest`` since the epoch.

    Ingest upserts it in one statement (``repairs.postgres``) that locks the fingerprint's
    row, so reporters of one fingerprint take turns and each reads the count the one before
    it left: the repeat count is that sum, read from a few numbers instead of the events.
    A change of the window's length starts the counts again."""

    fingerprint = models.CharField(max_length=64, primary_key=True, verbose_name=_("fingerprint"))
    bucket_seconds = models.PositiveIntegerField(verbose_name=_("bucket seconds"))
    newest = models.BigIntegerField(verbose_name=_("newest bucket"))
    counts = models.JSONField(default=list, verbose_name=_("counts"))

    class Meta:
        db_table = "worker_repeat_counters"
        verbose_name = _("repeat counter")
        verbose_name_plural = _("repeat counters")

    def __str__(self) -> str:
        return f"{self.fingerprint}: {sum(self.counts)}"

    @staticmethod
    def fresh_counts(*, buckets: int, counted: bool) -> list[int]:
        """A new fingerprint's counts: its first report, if that falls in the window."""
        return [1 if counted else 0] + [0] * (buckets - 1)

    def count(self, tally: "RepeatTally") -> int:
        """Counts a report (``tally``) and returns the fingerprint's repeat count with it:
        the buckets shift to the report's newest one, which it adds to when it falls in the
        window. A report older than the window still counts itself, as an event does.
        ``repairs.postgres`` does the same in SQL."""
        if self.bucket_seconds == tally.bucket_seconds:
            shift = min(max(tally.head - self.newest, 0), tally.buckets)
            kept = list(self.counts)
        else:
            shift, kept = tally.buckets, []
        counts = ([0] * shift + kept + [0] * tally.buckets)[: tally.buckets]
        if tally.counted:
            counts[0] += 1
        self.counts = counts
        self.newest = max(self.newest, tally.head)
        self.bucket_seconds = tally.bucket_seconds
        return sum(counts) + (0 if tally.counted else 1)


@dataclass(frozen=True)
class RepeatTally:
    """What counting one report takes: its fingerprint's buckets (``bucket_seconds`` long,
    ``buckets`` of them make the window, the newest is number ``head`` since the epoch),
    whether the report falls in the window, and from which count on (``threshold``; None
    for never) it counts on the fingerprint's undecided proposal, for ``worker``."""

    fingerprint: str
    bucket_seconds: int
    head: int
    buckets: int
    counted: bool
    threshold: int | None
    worker: str
    now: datetime

    @classmethod
    def of(
        cls,
        fingerprint: str,
        *,
        window: timedelta,
        buckets: int,
        occurred_at: datetime,
        now: datetime,
        threshold: int | None,
        worker: str,
    ) -> "RepeatTally":
        """The tally of a report received ``now``: the window cut into ``buckets`` whole
        seconds long buckets (so the count covers the window give or take one bucket)."""
        bucket_seconds = max(math.ceil(window.total_seconds() / buckets), 1)
        return cls(
            fingerprint=fingerprint,
            bucket_seconds=bucket_seconds,
            head=int(now.timestamp()) // bucket_seconds,
            buckets=buckets,
            counted=occurred_at >= now - window,
            threshold=threshold,
            worker=worker,
            now=now,
        )


class BudgetSpend(models.Model):
    """The automatic actions (``policies.ladder.BUDGETED``) a worker was allowed for one job
    and error class: its retry budget, spent by one conditional upsert per allowed action."""

    worker = models.ForeignKey(
        Worker, on_delete=models.CASCADE, related_name="+", verbose_name=_("worker")
    )
    job_ref = models.CharField(max_length=200, blank=True, verbose_name=_("job reference"))
    error_class = models.SlugField(max_length=100, verbose_name=_("error class"))
    action = models.SlugField(max_length=40, verbose_name=_("action"))
    spent = models.PositiveIntegerField(default=0, verbose_name=_("spent"))

    class Meta:
        db_table = "worker_budget_spends"
        verbose_name = _("budget spend")
        verbose_name_plural = _("budget spends")
        constraints = [
            models.UniqueConstraint(
                fields=["worker", "job_ref", "error_class", "action"], name="budget_spend_one_row"
            )
        ]

    def __str__(self) -> str:
        return f"{self.worker_id} {self.action} {self.job_ref}/{self.error_class}: {self.spent}"


class SelfHealRequest(models.Model):
    """A worker's request to take an action the policy escalated, waiting for a human.

    Created with the event whose verdict was ``needs_approval``; decided once, by the role
    the policy's approval matrix names, never by the requester; expires after the policy's
    approval TTL.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        EXPIRED = "expired", _("Expired")

    event = models.OneToOneField(
        RepairEvent,
        on_delete=models.PROTECT,
        related_name="self_heal_request",
        verbose_name=_("event"),
    )
    worker = models.ForeignKey(
        Worker,
        on_delete=models.PROTECT,
        related_name="self_heal_requests",
        verbose_name=_("worker"),
    )
    action = models.SlugField(max_length=40, verbose_name=_("action"))
    target = models.CharField(max_length=200, blank=True, verbose_name=_("target"))
    # Every resource the action will touch, as the policy judged them (its job and its
    # target); approving it approves these, and carrying it out touches nothing else.
    resources = models.JSONField(
        default=list,
        blank=True,
        help_text=_("Every resource the action touches"),
        verbose_name=_("resources"),
    )
    risk = models.CharField(
        max_length=2,
        default="L2",
        verbose_name=_("risk"),
        help_text=_("The action's risk level: L0 observe … L3 forbidden"),
    )
    reason = models.TextField(
        blank=True, help_text=_("Why the policy escalated it"), verbose_name=_("reason")
    )
    approver_role = models.CharField(
        max_length=30,
        verbose_name=_("approver role"),
        help_text=_("The role the policy names to decide this request"),
    )
    status = models.CharField(
        max_length=10,
        choices=Status.choices,
        default=Status.PENDING,
        db_index=True,
        verbose_name=_("status"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requested by"),
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(null=True, blank=True, verbose_name=_("decided at"))
    note = models.TextField(
        blank=True, verbose_name=_("note"), help_text=_("The worker reads it with the decision")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    callback_url = models.URLField(
        max_length=500,
        blank=True,
        verbose_name=_("callback URL"),
        help_text=_("Where the decision is sent, signed"),
    )
    # For a tool call (issue 14): the sha256 of the canonical call it approves, the claim it
    # is bound to (its event's job, claimed at this moment), and when the one call it allows
    # used it, by which tool_use_id (asking again for that same call reuses it).
    tool_digest = models.CharField(
        max_length=64,
        blank=True,
        default="",
        verbose_name=_("tool call digest"),
        help_text=_("For a tool call: the sha256 of the canonical call it approves"),
    )
    claimed_at = models.DateTimeField(
        null=True,
        blank=True,
        verbose_name=_("claimed at"),
        help_text=_("For a tool call: the claim of its job that the approval is bound to"),
    )
    consumed_at = models.DateTimeField(
        null=True,
        blank=True,
        verbose_name=_("used at"),
        help_text=_("When the one tool call it allows used it"),
    )
    consumed_by_tool_use_id = models.CharField(
        max_length=200, blank=True, default="", verbose_name=_("used by tool_use_id")
    )
    callback_delivered_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("callback delivered at")
    )
    callback_attempts = models.PositiveSmallIntegerField(
        default=0, verbose_name=_("callback attempts")
    )
    callback_last_error = models.CharField(
        max_length=500, blank=True, verbose_name=_("callback last error")
    )
    # When the unanswered request was re-announced and escalated (the policy's
    # approval_reminders); each is set once, by the run that sent it.
    reminded_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("reminded at")
    )
    escalated_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("escalated at")
    )

    class Meta:
        verbose_name = _("self-heal request")
        verbose_name_plural = _("self-heal requests")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "expires_at"], name="self_heal_status_expiry")]
        constraints = [
            # One pending request per worker and tool call: the same call asked again (or
            # twice at once) waits on the one request.
            models.UniqueConstraint(
                fields=["worker", "tool_digest"],
                condition=Q(status="pending") & ~Q(tool_digest=""),
                name="self_heal_one_pending_per_tool_call",
            ),
        ]

    def __str__(self) -> str:
        return gettext("#%(id)s %(action)s for %(worker)s (%(status)s)") % {
            "id": self.pk,
            "action": self.action,
            "worker": self.worker,
            "status": self.get_status_display(),
        }

    @property
    def job_ref(self) -> str:
        return self.event.job_ref

    @property
    def resources_shown(self) -> str:
        return ", ".join(self.resources)

    def refusal_for(self, user: AbstractBaseUser, *, roles: Collection[str] | None = None) -> str:
        """Why ``user`` may not decide this request, or "" when they may: the four-eyes
        rule (never the requester), never a worker, and only the role the policy named.
        ``roles`` are the user's roles when the caller read them already (``roles_of``).
        Whether the request is still pending is the service's to check, under its lock."""
        if self.requested_by_id == user.pk:
            return gettext("Nobody decides their own request; another person must.")
        if acting_worker(user) is not None:
            return gettext("Workers approve nothing; a person in the approving role decides.")
        if roles is None:
            in_role = has_role(user, self.approver_role)
        else:
            in_role = self.approver_role in roles
        if not in_role:
            return gettext("Only the %(role)s role decides this request.") % {
                "role": self.approver_role
            }
        return ""

    def may_be_decided_by(
        self, user: AbstractBaseUser, *, roles: Collection[str] | None = None
    ) -> bool:
        return not self.refusal_for(user, roles=roles)

    def touches(self, resource: str) -> bool:
        """Whether approving this request approved acting on ``resource``."""
        return resource in self.resources


class ToolVerdict(models.Model):
    """One verdict on an agent's tool call (``POST /api/v1/tool-verdicts``): who asked, what
    for (the redacted input and its digest), which rule read it as which action, under which
    policy version, and the answer. Append-only; aged out by ``PLS_RETAIN_VERDICTS_DAYS``
    (the self-heal requests it opened are kept for ever)."""

    class Agent(models.TextChoices):
        CLAUDE_CODE = "claude_code", "Claude Code"
        CODEX = "codex", "Codex"
        OTHER = "other", _("Other")

    worker = models.ForeignKey(
        Worker, on_delete=models.PROTECT, related_name="tool_verdicts", verbose_name=_("worker")
    )
    token = models.ForeignKey(
        WorkerToken,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("token"),
    )
    agent = models.CharField(
        max_length=20, choices=Agent.choices, default=Agent.OTHER, verbose_name=_("agent")
    )
    session_id = models.CharField(max_length=200, blank=True, verbose_name=_("session id"))
    tool_use_id = models.CharField(max_length=200, blank=True, verbose_name=_("tool use id"))
    tool_name = models.CharField(max_length=200, verbose_name=_("tool name"))
    tool_input = models.TextField(
        help_text=_("The call's input as JSON, redacted"), verbose_name=_("tool input")
    )
    cwd = models.CharField(max_length=1000, blank=True, verbose_name=_("working directory (cwd)"))
    digest = models.CharField(
        max_length=64, help_text=_("sha256 of the canonical call"), verbose_name=_("call digest")
    )
    job_ref = models.CharField(max_length=200, blank=True, verbose_name=_("job reference"))
    rule = models.CharField(
        max_length=200,
        verbose_name=_("rule"),
        help_text=_("The policy's tool rule that read the call"),
    )
    policy = models.ForeignKey(
        "policies.WorkerPolicy",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("policy"),
    )
    verdict = models.CharField(max_length=20, choices=Decision.choices, verbose_name=_("verdict"))
    action = models.SlugField(max_length=40, verbose_name=_("action"))
    target = models.CharField(max_length=200, blank=True, verbose_name=_("target"))
    reason = models.TextField(verbose_name=_("reason"))
    self_heal_request = models.ForeignKey(
        SelfHealRequest,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tool_verdicts",
        verbose_name=_("self-heal request"),
    )
    created_at = models.DateTimeField(
        auto_now_add=True, db_index=True, verbose_name=_("created at")
    )

    class Meta:
        verbose_name = _("tool verdict")
        verbose_name_plural = _("tool verdicts")
        db_table = "worker_tool_verdicts"
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["worker", "job_ref", "action"], name="tool_verdict_budget"),
        ]

    def __str__(self) -> str:
        return gettext("%(verdict)s %(tool)s (%(rule)s) for %(worker)s #%(id)s") % {
            "verdict": self.get_verdict_display(),
            "tool": self.tool_name,
            "rule": self.rule,
            "worker": self.worker_id,
            "id": self.pk,
        }
