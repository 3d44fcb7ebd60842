"""Owner channels and the outbox of reports waiting to reach them (DESIGN §7)."""

from datetime import datetime
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import WebhookSigned
from core.roles import ROLES


class Status(models.TextChoices):
    """How urgently a report needs a human. Ordered: a channel takes its minimum and above."""

    NORMAL = "normal", _("Normal")
    WARNING = "warning", _("Warning")
    CRITICAL = "critical", _("Critical")

    @classmethod
    def at_least(cls, minimum: str) -> list[str]:
        order = list(cls.values)
        return order[order.index(minimum) :]


ROLE_CHOICES = [("", "Any role"), *((role, role) for role in ROLES)]


class ChannelQuerySet(models.QuerySet):
    def ready(self, now: datetime) -> "ChannelQuerySet":
        """The channels that take reports at ``now``: ``Channel.is_ready`` as a filter."""
        return self.filter(
            Q(muted_until__isnull=True) | Q(muted_until__lte=now),
            Q(retry_at__isnull=True) | Q(retry_at__lte=now),
            enabled=True,
        )


class Channel(WebhookSigned):
    """Where an owner receives reports. Secrets are stored to be sent, never to be shown.

    A generic webhook signs its deliveries the Standard Webhooks way with a secret of its
    own (``WebhookSigned``: generated, shown once, sealed, rotatable); ``legacy_signature``
    adds the old ``X-PLS-Signature`` under ``signing_secret`` for receivers not moved yet."""

    class Kind(models.TextChoices):
        DISCORD = "discord", _("Discord webhook")
        TELEGRAM = "telegram", _("Telegram bot")
        SLACK = "slack", _("Slack webhook")
        LINE = "line", _("LINE Messaging API push")
        WEBHOOK = "webhook", _("Generic webhook (Standard Webhooks signatures)")
        EMAIL = "email", _("Email")

    # Fields that hold credentials: write-only in the console, never rendered or logged.
    SECRET_FIELDS = ("url", "token", "signing_secret")

    name = models.SlugField(max_length=64, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    enabled = models.BooleanField(default=True)
    role = models.CharField(
        max_length=32,
        choices=ROLE_CHOICES,
        blank=True,
        help_text=_("Receives reports addressed to this role (and to any role). Blank: all."),
    )
    team = models.SlugField(
        max_length=100, blank=True, help_text="Receives only this team's reports. Blank: all."
    )
    min_status = models.CharField(max_length=10, choices=Status.choices, default=Status.NORMAL)
    muted_until = models.DateTimeField(
        null=True, blank=True, help_text="Reports are held, not dropped, until then."
    )

    url = models.CharField(
        max_length=500, blank=True, help_text="Discord / Slack / generic webhook URL (secret)."
    )
    token = models.CharField(
        max_length=500, blank=True, help_text="Telegram bot token or LINE channel access token."
    )
    signing_secret = models.CharField(
        max_length=200,
        blank=True,
        help_text=_("Generic webhook with the legacy signature only: its HMAC-SHA256 key."),
    )
    legacy_signature = models.BooleanField(
        default=False,
        help_text=_(
            "Also send X-PLS-Signature (sha256 HMAC of the body under the key above, no "
            "timestamp) for receivers that do not check Standard Webhooks signatures yet."
        ),
    )
    target = models.CharField(
        max_length=500,
        blank=True,
        help_text=_("Telegram chat id, LINE user/group id, or comma-separated email addresses."),
    )
    api_base = models.URLField(
        blank=True,
        help_text=_("Telegram / LINE API base URL; blank uses the provider's (or the setting)."),
    )

    # Drain state. One drain at a time holds a channel's lease (compare-and-set on these two
    # columns), which is what keeps a channel's reports in order and never sent twice.
    lease_token = models.CharField(max_length=32, blank=True, editable=False)
    lease_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    failure_streak = models.PositiveIntegerField(default=0, editable=False)
    retry_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Backing off after a failure until then."
    )
    last_error = models.TextField(blank=True, editable=False)
    last_sent_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Monotonic totals for /metrics. Kept in the database because the drain runs in Celery
    # processes, possibly on other hosts, while /metrics is served by the web process.
    sent_total = models.PositiveBigIntegerField(default=0, editable=False)
    transient_error_total = models.PositiveBigIntegerField(default=0, editable=False)
    permanent_error_total = models.PositiveBigIntegerField(default=0, editable=False)
    suppressed_total = models.PositiveBigIntegerField(default=0, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ChannelQuerySet.as_manager()

    class Meta:
        verbose_name = _("channel")
        verbose_name_plural = _("channels")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        required = {
            self.Kind.DISCORD: ["url"],
            self.Kind.SLACK: ["url"],
            self.Kind.WEBHOOK: ["url", "signing_secret"] if self.legacy_signature else ["url"],
            self.Kind.TELEGRAM: ["token", "target"],
            self.Kind.LINE: ["token", "target"],
            self.Kind.EMAIL: ["target"],
        }.get(self.kind, [])
        errors = {
            name: "Required for this kind of channel."
            for name in required
            if not getattr(self, name)
        }
        if self.url and urlsplit(self.url).scheme not in {"http", "https"}:
            errors["url"] = "Must be an http(s) URL."
        if self.kind == self.Kind.EMAIL and self.target:
            try:
                for address in self.recipients:
                    validate_email(address)
            except ValidationError:
                errors["target"] = "Comma-separated email addresses."
        if errors:
            raise ValidationError(errors)

    @property
    def recipients(self) -> list[str]:
        return [part.strip() for part in self.target.split(",") if part.strip()]

    @property
    def destination(self) -> str:
        """Where reports go, with every secret left out: safe for lists, logs and reports."""
        if self.kind in {self.Kind.DISCORD, self.Kind.SLACK, self.Kind.WEBHOOK}:
            host = urlsplit(self.url).hostname if self.url else None
            return f"{host}/…" if host else "(no URL)"
        return self.target or "(no target)"

    def is_muted(self, now=None) -> bool:
        return self.muted_until is not None and self.muted_until > (now or timezone.now())

    def is_ready(self, now: datetime) -> bool:
        """Whether the channel takes reports at ``now``: enabled, not muted, not backing off
        after a failure. ``Channel.objects.ready(now)`` is the same rule as a filter."""
        return not self.unready_reason(now)

    def unready_reason(self, now: datetime) -> str:
        """Why the channel takes no reports at ``now`` ("" when it is ready)."""
        if not self.enabled:
            return "disabled"
        if self.is_muted(now):
            return f"muted until {self.muted_until:%Y-%m-%d %H:%M} UTC"
        if self.retry_at is not None and self.retry_at > now:
            return f"backing off until {self.retry_at:%H:%M:%S} UTC"
        return ""


class OwnerReport(models.Model):
    """One report for one channel: a row of the outbox, archived once the channel took it."""

    class State(models.TextChoices):
        UNROUTED = "unrouted", _("Unrouted (no channel matches yet)")
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed (permanent error)")
        SUPPRESSED = "suppressed", _("Suppressed duplicate")

    # What the caller said, as opposed to delivery bookkeeping: copied when a report is
    # routed to several channels.
    CONTENT_FIELDS = (
        "source",
        "title",
        "status",
        "team",
        "worker",
        "task_id",
        "progress",
        "done",
        "next_step",
        "role",
        "dedup_key",
    )

    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.PROTECT, related_name="reports"
    )
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    source = models.CharField(max_length=64, help_text=_("What raised it, e.g. self_heal.pending"))
    title = models.CharField(max_length=300)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NORMAL)
    team = models.CharField(max_length=100, blank=True)
    worker = models.CharField(max_length=100, blank=True)
    task_id = models.CharField(max_length=200, blank=True)
    progress = models.TextField(blank=True)
    done = models.TextField(blank=True)
    next_step = models.TextField(blank=True)
    role = models.CharField(max_length=32, blank=True, help_text=_("The role that must act."))
    dedup_key = models.CharField(max_length=200, blank=True)
    # The request that raised the report (its X-Request-ID), so the drain's log lines about
    # sending it can be followed back to that request; blank when raised outside a request.
    request_id = models.CharField(max_length=128, blank=True, default="", editable=False)

    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    suppressed_count = models.PositiveIntegerField(
        default=0, help_text="Duplicates suppressed inside the cooldown after this one was sent."
    )
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("owner report")
        verbose_name_plural = _("owner reports")
        db_table = "owner_reports"
        # The outbox order is the primary key: rows of one channel are inserted in the order
        # they are raised, and replay keeps a report's original place.
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["channel", "id"],
                name="owner_report_pending",
                condition=Q(state="pending"),
            ),
            models.Index(
                fields=["channel", "dedup_key", "sent_at"],
                name="owner_report_dedup",
                condition=Q(state="sent") & ~Q(dedup_key=""),
            ),
            models.Index(fields=["state", "created_at"], name="owner_report_state_age"),
            # The console's milestones ask whether a digest of one kind has ever been sent.
            models.Index(fields=["source", "state", "id"], name="owner_report_source"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state="unrouted", channel__isnull=True)
                | (~Q(state="unrouted") & Q(channel__isnull=False)),
                name="owner_report_unrouted_has_no_channel",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} [{self.status}] {self.title[:60]}"
