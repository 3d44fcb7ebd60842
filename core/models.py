"""The kernel's tables: the answers to keyed writes (``core.idempotency``), and the metric
totals every process adds to (``core.metrics``).

It belongs to no domain app: every app's writes share it, and the apps low in the house plan
(learning) may not import the ones above them (repairs), so the kernel, which every app
imports, holds it. It refers to nothing of the project, only to the user who wrote (a
worker acts through its own user).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.secrets import SealedField, opened


class MetricTotal(models.Model):
    """One Prometheus sample kept in the database (``core.metrics``): a counter's total, or a
    histogram's bucket, sum or count, added to by whichever process did the work and read by
    /metrics at scrape time. Rows only grow; nothing purges them, so no total goes back."""

    sample = models.CharField(
        _("sample"), max_length=200, help_text=_("e.g. pls_repair_events_total")
    )
    labels = models.CharField(
        _("labels"),
        max_length=500,
        blank=True,
        help_text=_('Canonical JSON, e.g. {"gate":"stuck_claim"}'),
    )
    value = models.FloatField(_("value"), default=0.0)

    class Meta:
        db_table = "pls_metric_totals"
        verbose_name = _("metric total")
        verbose_name_plural = _("metric totals")
        constraints = [
            models.UniqueConstraint(fields=["sample", "labels"], name="metric_total_unique")
        ]

    def __str__(self) -> str:
        return f"{self.sample}{self.labels} = {self.value}"


class IdempotencyKey(models.Model):
    """A keyed write and the answer it got, replayed to every retry with the same key and
    body until the key expires (``PLS_IDEMPOTENCY_KEY_TTL_HOURS``)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        editable=False,
        verbose_name=_("user"),
    )
    key = models.CharField(_("key"), max_length=255)
    # sha256 of the method, the path and the body as data (key order and spacing aside).
    request_digest = models.CharField(
        _("request digest"),
        max_length=64,
        help_text=_("SHA-256 of the method, the path and the body"),
    )
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    # JSON as text, not jsonb: a replay renders the members in the first answer's order.
    response_body = models.TextField(_("response body"), blank=True)
    response_headers = models.JSONField(_("response headers"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        db_table = "idempotency_keys"
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            # Settles concurrent retries: the first writer's row wins, the others replay it.
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status_code or gettext('in progress')})"

    @staticmethod
    def expiry_cutoff(now: datetime) -> datetime:
        """Keys created at or before this moment have expired by ``now``."""
        return now - settings.PLS_IDEMPOTENCY_KEY_TTL

    def has_expired(self, now: datetime) -> bool:
        return self.created_at <= self.expiry_cutoff(now)


class WebhookSigned(models.Model):
    """A row that signs what it sends with a Standard Webhooks secret of its own (a
    channel's deliveries, a worker's callbacks), sealed at rest (``core.secrets``).

    Rotating keeps the old secret for an overlap window, during which both sign every
    message (the spec's space-separated signatures), so a receiver can switch at leisure;
    after it only the new one does."""

    webhook_secret = SealedField(blank=True, editable=False)
    webhook_secret_previous = SealedField(blank=True, editable=False)
    webhook_secret_previous_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True

    def webhook_secrets(self, now: datetime) -> list[str]:
        """The secrets that sign a message sent at ``now``, the current one first."""
        current = opened(self.webhook_secret)
        signing = [current] if current else []
        until = self.webhook_secret_previous_until
        # The previous secret is opened only inside its window: after it, it signs nothing.
        if until is not None and now < until and (previous := opened(self.webhook_secret_previous)):
            signing.append(previous)
        return signing

    def webhook_secret_rotate(self, now: datetime, overlap: timedelta) -> str:
        """Sets a new secret (the caller saves) and returns it: the only time it is seen.
        The old one keeps signing for ``overlap``; without an overlap it stops at once."""
        from core.webhooks import secret_generate

        secret = secret_generate()
        keep = bool(self.webhook_secret) and overlap > timedelta(0)
        self.webhook_secret_previous = self.webhook_secret if keep else ""
        self.webhook_secret_previous_until = now + overlap if keep else None
        self.webhook_secret = secret
        return secret


WEBHOOK_SECRET_FIELDS = [
    "webhook_secret",
    "webhook_secret_previous",
    "webhook_secret_previous_until",
]


def _time_zone_valid(name: str) -> None:
    from zoneinfo import available_timezones

    from django.core.exceptions import ValidationError

    if name and name not in available_timezones():
        raise ValidationError(_("%(name)s is not a time zone name."), params={"name": name})


class Profile(models.Model):
    """A console user's own language and clock. Blank keeps the console's default
    (``LANGUAGE_CODE``, ``TIME_ZONE``), so a change of default reaches everyone who never
    chose. ``core.middleware.ProfileMiddleware`` applies it to each request they make."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="profile",
        verbose_name=_("user"),
    )
    language = models.CharField(
        _("language"), max_length=16, blank=True, help_text=_("Blank: the console's default.")
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        validators=[_time_zone_valid],
        help_text=_("An IANA name such as Asia/Taipei. Blank: the console's default."),
    )

    class Meta:
        db_table = "profiles"
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")

    def __str__(self) -> str:
        return f"{self.user} ({self.language or '-'}, {self.time_zone or '-'})"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.language and self.language not in dict(settings.LANGUAGES):
            refusal = ValidationError(
                _("%(code)s is not one of the console's languages."),
                params={"code": self.language},
            )
            raise ValidationError({"language": refusal})
