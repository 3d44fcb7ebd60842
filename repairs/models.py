from collections.abc import Collection

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models
from django.db.models import Case, Q, Value, When
from django.utils.translation import gettext_lazy as _

from core.models import WebhookSigned
from core.roles import acting_worker, has_role


class Gate(models.TextChoices):
    STUCK_CLAIM = "stuck_claim", "Stuck claim"
    REPAIR_SUGGESTED = "repair_suggested", "Repair suggested"
    ARTIFACT_GUARD = "artifact_guard", "Artifact guard"
    WORKER_LEARNING = "worker_learning", "Worker learning"
    FRICTION = "friction", "Friction"


class Outcome(models.TextChoices):
    RESOLVED = "resolved", "Resolved"
    FAILED = "failed", "Failed"


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

    name = models.SlugField(max_length=100, unique=True)
    team = models.SlugField(max_length=100)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OTHER)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.IDLE)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="worker", editable=False
    )
    last_heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    paused_reason = models.CharField(
        max_length=300, blank=True, help_text="Told to the worker when a paused worker calls"
    )
    monthly_budget_cents = models.PositiveBigIntegerField(
        default=0, help_text=_("0 = no budget set")
    )
    month_spend_cents = models.PositiveBigIntegerField(default=0)
    # The budget month (its 1st, UTC) that month_spend_cents counts; a new month starts at 0.
    budget_month = models.DateField(null=True, blank=True, editable=False)
    # The budget month the owner was last warned about at 80 %, so the warning goes once.
    budget_warned_month = models.DateField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("worker")
        verbose_name_plural = _("workers")
        ordering = ["team", "name"]

    def __str__(self) -> str:
        return self.name


class WorkerToken(models.Model):
    """An API token. Only its SHA-256 digest is stored; the token is shown once, at issue."""

    worker = models.ForeignKey(Worker, on_delete=models.PROTECT, related_name="tokens")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=16, editable=False, help_text=_("Identifies the token"))
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
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
        HIGH = "high"
        MEDIUM = "medium"
        LOW = "low"

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLAIMED = "claimed", _("Claimed")
        STUCK = "stuck", _("Stuck")
        COMPLETED = "completed", _("Completed")

    external_id = models.CharField(max_length=200, unique=True)
    title = models.CharField(max_length=300)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.MEDIUM)
    # high → 1, medium → 2, low → 3: claim-next orders by it, with the index below.
    priority_rank = models.GeneratedField(
        expression=Case(
            When(priority="high", then=Value(1)),
            When(priority="medium", then=Value(2)),
            default=Value(3),
        ),
        output_field=models.PositiveSmallIntegerField(),
        db_persist=True,
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    claimed_by = models.ForeignKey(
        Worker, null=True, blank=True, on_delete=models.PROTECT, related_name="claimed_jobs"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    progress = models.TextField(blank=True)
    stuck_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

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

    worker = models.ForeignKey(Worker, on_delete=models.PROTECT, related_name="repair_events")
    job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.PROTECT, related_name="repair_events"
    )
    job_ref = models.CharField(
        max_length=200, blank=True, help_text="The job's external id as the worker reported it"
    )
    gate = models.CharField(max_length=20, choices=Gate.choices)
    error_class = models.SlugField(_("error class"), max_length=100)
    fingerprint = models.CharField(max_length=64)
    phase = models.CharField(max_length=200, blank=True)
    action = models.SlugField(max_length=40, blank=True)
    message = models.TextField(blank=True)
    evidence = models.TextField(blank=True)
    evidence_cut_bytes = models.PositiveIntegerField(default=0)
    redactions = models.PositiveIntegerField(default=0)
    repeat_count = models.PositiveIntegerField(default=1)
    # Whether the repair worked, reported by the worker (at once or later) or set by the owner
    # in the console; blank until someone says. Set once.
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    target = models.CharField(
        max_length=200, blank=True, help_text="What the action would act on (default: the job)"
    )
    # The verdict the policy gave the action, as returned to the worker; the decision is
    # also a column of its own so dashboards can count it.
    verdict = models.JSONField(null=True, blank=True)
    decision = models.CharField(max_length=20, blank=True, db_index=True)
    policy = models.ForeignKey(
        "policies.WorkerPolicy", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    proposal = models.ForeignKey(
        "policies.Proposal",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="events",
    )
    token = models.ForeignKey(
        WorkerToken,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The token the event was reported with"),
    )
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)

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
        return f"{self.gate}/{self.error_class} by {self.worker_id} #{self.pk}"


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
        RepairEvent, on_delete=models.PROTECT, related_name="self_heal_request"
    )
    worker = models.ForeignKey(Worker, on_delete=models.PROTECT, related_name="self_heal_requests")
    action = models.SlugField(max_length=40)
    target = models.CharField(max_length=200, blank=True)
    # Every resource the action will touch, as the policy judged them (its job and its
    # target); approving it approves these, and carrying it out touches nothing else.
    resources = models.JSONField(
        default=list, blank=True, help_text="Every resource the action touches"
    )
    risk = models.CharField(max_length=2, default="L2")
    reason = models.TextField(blank=True, help_text=_("Why the policy escalated it"))
    approver_role = models.CharField(max_length=30)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    callback_url = models.URLField(max_length=500, blank=True)
    callback_delivered_at = models.DateTimeField(null=True, blank=True)
    callback_attempts = models.PositiveSmallIntegerField(default=0)
    callback_last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("self-heal request")
        verbose_name_plural = _("self-heal requests")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "expires_at"], name="self_heal_status_expiry")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} for {self.worker} ({self.status})"

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
            return "Nobody decides their own request; another person must."
        if acting_worker(user) is not None:
            return "Workers approve nothing; a person in the approving role decides."
        if roles is None:
            in_role = has_role(user, self.approver_role)
        else:
            in_role = self.approver_role in roles
        if not in_role:
            return f"Only the {self.approver_role} role decides this request."
        return ""

    def may_be_decided_by(
        self, user: AbstractBaseUser, *, roles: Collection[str] | None = None
    ) -> bool:
        return not self.refusal_for(user, roles=roles)

    def touches(self, resource: str) -> bool:
        """Whether approving this request approved acting on ``resource``."""
        return resource in self.resources
