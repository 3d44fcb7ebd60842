"""Owner channels and the outbox of reports waiting to reach them (DESIGN §7)."""

from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from core.audience import language_valid, time_zone_valid
from core.clock import when
from core.models import WebhookSigned
from core.roles import ROLES
from core.secrets import SealedField, Unopened


class Status(models.TextChoices):
    """How urgently a report needs a human. Ordered: a channel takes its minimum and above."""

    NORMAL = "normal", _("Normal")
    WARNING = "warning", _("Warning")
    CRITICAL = "critical", _("Critical")

    @classmethod
    def at_least(cls, minimum: str) -> list[str]:
        order = list(cls.values)
        return order[order.index(minimum) :]


ROLE_CHOICES = [("", _("Any role")), *((role, role) for role in ROLES)]


class ChannelQuerySet(models.QuerySet):
    def ready(self, now: datetime) -> "ChannelQuerySet":
        """The channels that take reports at ``now``: ``Channel.is_ready`` as a filter."""
        return self.filter(
            Q(muted_until__isnull=True) | Q(muted_until__lte=now),
            Q(retry_at__isnull=True) | Q(retry_at__lte=now),
            enabled=True,
        )


class Channel(WebhookSigned):
    """Where an owner receives reports. Secrets are stored to be sent, never to be shown,
    and sealed in their columns (``core.secrets.SealedField``).

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

    # Fields that hold credentials the owner enters: write-only in the console, never
    # rendered or logged, sealed at rest.
    SECRET_FIELDS = ("url", "token", "signing_secret")

    name = models.SlugField(_("name"), max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    enabled = models.BooleanField(_("enabled"), default=True)
    role = models.CharField(
        _("role"),
        max_length=32,
        choices=ROLE_CHOICES,
        blank=True,
        help_text=_("Receives reports addressed to this role (and to any role). Blank: all."),
    )
    team = models.SlugField(
        _("team"),
        max_length=100,
        blank=True,
        help_text=_("Receives only this team's reports. Blank: all."),
    )
    min_status = models.CharField(
        _("minimum status"),
        max_length=10,
        choices=Status.choices,
        default=Status.NORMAL,
        help_text=_("Takes reports of this status and above."),
    )
    muted_until = models.DateTimeField(
        _("muted until"),
        null=True,
        blank=True,
        help_text=_("Reports are held, not dropped, until then."),
    )
    # Its audience's language and clock: reports and digests are written in them
    # (notifications.render, notifications.services.digest_enqueue). Blank: the console's.
    language = models.CharField(
        _("language"),
        max_length=16,
        blank=True,
        validators=[language_valid],
        help_text=_(
            "Language of its reports and digests, e.g. zh-hant or en. Blank: the console's default."
        ),
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        validators=[time_zone_valid],
        help_text=_(
            "IANA zone its times are written in, e.g. Asia/Taipei. Blank: the console's default."
        ),
    )

    url = SealedField(
        _("URL"),
        max_length=500,
        blank=True,
        help_text=_("Discord / Slack / generic webhook URL (secret)."),
    )
    token = SealedField(
        _("token"),
        max_length=500,
        blank=True,
        help_text=_("Telegram bot token or LINE channel access token."),
    )
    signing_secret = SealedField(
        _("signing secret"),
        max_length=200,
        blank=True,
        help_text=_("Generic webhook with the legacy signature only: its HMAC-SHA256 key."),
    )
    legacy_signature = models.BooleanField(
        _("legacy signature"),
        default=False,
        help_text=_(
            "Also send X-PLS-Signature (sha256 HMAC of the body under the key above, no "
            "timestamp) for receivers that do not check Standard Webhooks signatures yet."
        ),
    )
    target = models.CharField(
        _("target"),
        max_length=500,
        blank=True,
        help_text=_("Telegram chat id, LINE user/group id, or comma-separated email addresses."),
    )
    api_base = models.URLField(
        _("API base URL"),
        blank=True,
        help_text=_("Telegram / LINE API base URL; blank uses the provider's (or the setting)."),
    )
    # Approving from chat (issue 16): what the provider signs its callbacks with. The
    # Telegram webhook secret token, the Slack signing secret or the LINE channel secret is
    # sealed (core.secrets) and never shown back; Discord signs with its application's key
    # pair, whose public half is not secret.
    interaction_secret = SealedField(_("interaction secret"), blank=True, editable=False)
    interaction_public_key = models.CharField(
        _("interaction public key"),
        max_length=64,
        blank=True,
        help_text=_("Discord: the application's public key (hex), from its General Information."),
    )

    # Drain state. One drain at a time holds a channel's lease (compare-and-set on these two
    # columns), which is what keeps a channel's reports in order and never sent twice.
    lease_token = models.CharField(_("lease token"), max_length=32, blank=True, editable=False)
    lease_expires_at = models.DateTimeField(
        _("lease expires at"), null=True, blank=True, editable=False
    )
    failure_streak = models.PositiveIntegerField(
        _("failure streak"),
        default=0,
        editable=False,
        help_text=_("Failed deliveries in a row."),
    )
    retry_at = models.DateTimeField(
        _("retry at"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Backing off after a failure until then."),
    )
    last_error = models.TextField(_("last error"), blank=True, editable=False)
    last_sent_at = models.DateTimeField(_("last sent at"), null=True, blank=True, editable=False)

    # Fallback: where this channel's reports go when it cannot take them (notifications.
    # fallback): refused for good, retries exhausted, held too long, or paused by a quota.
    fallback = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="fallback_of",
        verbose_name=_("fallback"),
        help_text=_(
            "Reports this channel refuses for good, or holds longer than the fallback age, "
            "go there instead, in order."
        ),
    )
    fallback_after = models.DurationField(
        _("fallback after"),
        null=True,
        blank=True,
        help_text=_(
            "A report held this long while the channel fails goes to the fallback. Blank: "
            "PLS_FALLBACK_AFTER_SECONDS."
        ),
    )
    paused_until = models.DateTimeField(
        _("paused until"),
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "Failing until then whatever we do (LINE's monthly limit): its reports go to the "
            "fallback at once."
        ),
    )

    # Monotonic totals for /metrics. Kept in the database because the drain runs in Celery
    # processes, possibly on other hosts, while /metrics is served by the web process.
    sent_total = models.PositiveBigIntegerField(_("sent (total)"), default=0, editable=False)
    transient_error_total = models.PositiveBigIntegerField(
        _("transient errors (total)"), default=0, editable=False
    )
    permanent_error_total = models.PositiveBigIntegerField(
        _("permanent errors (total)"), default=0, editable=False
    )
    suppressed_total = models.PositiveBigIntegerField(
        _("suppressed duplicates (total)"), default=0, editable=False
    )

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

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
            name: _("Required for this kind of channel.")
            for name in required
            if not getattr(self, name)
        }
        if self.fallback_id is not None and self.fallback_id == self.pk:
            errors["fallback"] = _("A channel cannot be its own fallback.")
        if self.url and urlsplit(self.url).scheme not in {"http", "https"}:
            errors["url"] = _("Must be an http(s) URL.")
        key = self.interaction_public_key
        if key and (len(key) != 64 or any(c not in "0123456789abcdefABCDEF" for c in key)):
            errors["interaction_public_key"] = _("Discord's public key: 64 hexadecimal characters.")
        if self.kind == self.Kind.EMAIL and self.target:
            try:
                for address in self.recipients:
                    validate_email(address)
            except ValidationError:
                errors["target"] = _("Comma-separated email addresses.")
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
            return f"{host}/…" if host else gettext("(no URL)")
        return self.target or gettext("(no target)")

    @property
    def takes_interactions(self) -> bool:
        """Whether the provider's callbacks can be verified, so reports may carry buttons."""
        if self.kind == self.Kind.DISCORD:
            return bool(self.interaction_public_key)
        return self.kind in CHAT_KINDS and bool(self.interaction_secret)

    def unopened_secrets(self) -> list[str]:
        """The secrets sending reads that no configured key opens (``core.secrets.Unopened``):
        the credentials and the current signing secret. The previous signing secret is opened
        only inside its window (``webhook_secrets``) and the callback secret only by a chat
        callback, so neither keeps a report from being sent."""
        fields = (*self.SECRET_FIELDS, "webhook_secret")
        return [name for name in fields if isinstance(getattr(self, name), Unopened)]

    def is_muted(self, now=None) -> bool:
        return self.muted_until is not None and self.muted_until > (now or timezone.now())

    def is_paused(self, now: datetime) -> bool:
        """Failing until a known moment (a provider's quota), not merely backing off."""
        return self.paused_until is not None and self.paused_until > now

    def fallback_age(self) -> timedelta | None:
        """How long a report may wait on this channel while it fails before it goes to the
        fallback; None when it waits for the channel however long that takes."""
        age = self.fallback_after
        if age is None:
            age = timedelta(seconds=settings.PLS_FALLBACK_AFTER_SECONDS)
        return age if age > timedelta(0) else None

    def is_ready(self, now: datetime) -> bool:
        """Whether the channel takes reports at ``now``: enabled, not muted, not backing off
        after a failure. ``Channel.objects.ready(now)`` is the same rule as a filter."""
        return not self.unready_reason(now)

    def unready_reason(self, now: datetime) -> str:
        """Why the channel takes no reports at ``now`` ("" when it is ready)."""
        if not self.enabled:
            return "disabled"
        if self.is_muted(now):
            # In the reader's zone (the console's in a drain), which it names.
            return f"muted until {when(self.muted_until)}"
        if self.is_paused(now):
            return f"paused until {when(self.paused_until)} ({self.last_error})"
        if self.retry_at is not None and self.retry_at > now:
            return f"backing off until {when(self.retry_at, seconds=True)}"
        return ""


# The providers whose people may answer a report from the chat itself.
CHAT_KINDS = (Channel.Kind.TELEGRAM, Channel.Kind.SLACK, Channel.Kind.DISCORD, Channel.Kind.LINE)


class DecisionKind(models.TextChoices):
    """A record a report asks someone to decide, which its buttons decide from chat."""

    SELF_HEAL_REQUEST = "self_heal_request", _("Self-heal request")
    PROPOSAL = "proposal", _("Repair proposal")


class OwnerReport(models.Model):
    """One report for one channel: a row of the outbox, archived once the channel took it."""

    class State(models.TextChoices):
        UNROUTED = "unrouted", _("Unrouted (no channel matches yet)")
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed (permanent error)")
        SUPPRESSED = "suppressed", _("Suppressed duplicate")
        HANDED_OVER = "handed_over", _("Handed to the fallback channel")

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
        "error_class",
        "link",
        "decision_kind",
        "decision_id",
    )

    channel = models.ForeignKey(
        Channel,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reports",
        verbose_name=_("channel"),
    )
    state = models.CharField(
        _("delivery state"), max_length=12, choices=State.choices, default=State.PENDING
    )
    source = models.CharField(
        _("source"), max_length=64, help_text=_("What raised it, e.g. self_heal.pending")
    )
    title = models.CharField(_("title"), max_length=300)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.NORMAL
    )
    team = models.CharField(_("team"), max_length=100, blank=True)
    worker = models.CharField(_("worker"), max_length=100, blank=True)
    task_id = models.CharField(_("task id"), max_length=200, blank=True)
    progress = models.TextField(_("progress"), blank=True)
    done = models.TextField(_("done so far"), blank=True)
    next_step = models.TextField(_("next step"), blank=True)
    role = models.CharField(
        _("role"), max_length=32, blank=True, help_text=_("The role that must act.")
    )
    dedup_key = models.CharField(
        _("dedup key"),
        max_length=200,
        blank=True,
        help_text=_("Reports with the same key inside the cooldown are sent once."),
    )
    # With the source, what makes reports alike enough to go out as one grouped message
    # (notifications.grouping); blank: never grouped.
    error_class = models.CharField(_("error class"), max_length=100, blank=True)
    link = models.CharField(
        _("link"),
        max_length=300,
        blank=True,
        help_text=_("The console path of the record (or page) the report is about."),
    )
    decision_kind = models.CharField(
        _("decision kind"),
        max_length=24,
        choices=DecisionKind.choices,
        blank=True,
        help_text=_("The pending decision the report asks for: its message offers the buttons."),
    )
    decision_id = models.PositiveBigIntegerField(_("decision id"), null=True, blank=True)
    # The provider's id of the sent message (Telegram message_id, Discord message id, LINE
    # sent message id), for answering or editing it later; blank where the provider has none.
    provider_message_id = models.CharField(
        _("provider message id"), max_length=200, blank=True, editable=False
    )
    # The request that raised the report (its X-Request-ID), so the drain's log lines about
    # sending it can be followed back to that request; blank when raised outside a request.
    request_id = models.CharField(
        _("request id"), max_length=128, blank=True, default="", editable=False
    )

    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    suppressed_count = models.PositiveIntegerField(
        _("suppressed"),
        default=0,
        help_text=_("Duplicates suppressed inside the cooldown after this one was sent."),
    )
    duplicate_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("duplicate of"),
    )
    # Where a report went when its channel could not take it, and where a fallback delivery
    # came from: both rows say so (notifications.fallback).
    handed_to = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("handed to"),
    )
    fallback_for = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("fallback for"),
    )
    # The first report of the group this one was delivered in (itself, for that first one);
    # the first one also keeps how many the grouped message counted.
    grouped_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("grouped into"),
    )
    group_size = models.PositiveIntegerField(_("group size"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

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
        return f"#{self.pk} [{self.get_status_display()}] {self.title[:60]}"

    @property
    def went_to(self) -> str:
        """Where this report went, beyond its own channel: a fallback, a group."""
        parts = []
        if self.fallback_for_id:
            origin = self.fallback_for.channel if self.fallback_for else None
            said = {"channel": origin, "pk": self.fallback_for_id}
            parts.append(gettext("fallback for %(channel)s (#%(pk)s)") % said)
        if self.handed_to_id:
            target = self.handed_to.channel if self.handed_to else None
            said = {"channel": target, "pk": self.handed_to_id}
            parts.append(gettext("handed to fallback %(channel)s (#%(pk)s)") % said)
        if self.grouped_into_id:
            leader = self.grouped_into
            said = {"group": self.grouped_into_id}
            if leader and leader.group_size:
                said["count"] = leader.group_size
                parts.append(
                    ngettext(
                        "delivered in group %(group)s, %(count)s report",
                        "delivered in group %(group)s, %(count)s reports",
                        leader.group_size,
                    )
                    % said
                )
            else:
                parts.append(gettext("delivered in group %(group)s") % said)
        return "; ".join(parts)


class ChatIdentity(models.Model):
    """A person on a chat provider (kind + the provider's user id) linked to a console user:
    the only way a button pressed in chat acts for anyone. Unlinked by deleting the row."""

    kind = models.CharField(
        _("kind"), max_length=16, choices=[(k.value, k.label) for k in CHAT_KINDS]
    )
    provider_user_id = models.CharField(_("provider user id"), max_length=100)
    display_name = models.CharField(_("display name"), max_length=200, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="chat_identities",
        verbose_name=_("user"),
    )
    linked_through = models.ForeignKey(
        Channel,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("linked through"),
    )
    linked_at = models.DateTimeField(_("linked at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("chat identity")
        verbose_name_plural = _("chat identities")
        ordering = ["kind", "provider_user_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "provider_user_id"], name="chat_identity_one_per_provider_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.display_name or self.provider_user_id}"

    @property
    def described(self) -> str:
        """How records name the decider's chat identity: kind, name and provider id."""
        name = f"{self.display_name} " if self.display_name else ""
        return f"{self.kind} {name}({self.provider_user_id})"


class ChatLinkCode(models.Model):
    """A one-time code the console shows a user, sent to a bot as ``/link <code>`` to link
    that chat identity to them. Only its hash is kept; it works once, for ``TTL``."""

    TTL = timedelta(minutes=10)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("user"),
    )
    code_hash = models.CharField(_("code hash"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("chat link code")
        verbose_name_plural = _("chat link codes")

    def __str__(self) -> str:
        return f"link code of {self.user} until {when(self.expires_at)}"

    def is_usable(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at


class ChatCallbackSeen(models.Model):
    """A provider callback already handled (its update / interaction / event id), so a
    replayed or redelivered one changes nothing."""

    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="+", verbose_name=_("channel")
    )
    event_id = models.CharField(_("event id"), max_length=200)
    seen_at = models.DateTimeField(_("seen at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("chat callback seen")
        verbose_name_plural = _("chat callbacks seen")
        constraints = [
            models.UniqueConstraint(fields=["channel", "event_id"], name="chat_callback_seen_once")
        ]
        indexes = [models.Index(fields=["seen_at"], name="chat_callback_seen_age")]

    def __str__(self) -> str:
        return f"{self.channel}: {self.event_id}"
