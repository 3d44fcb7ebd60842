from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.clock import when


class LearningMemoryUpdate(models.Model):
    """One lesson the fleet learned, counted each time it is learned again.

    The same lesson (normalised text) of the same kind and error class for the same team is
    one row whose ``occurrences`` grows. Accepted lessons go into the team's prompt pack.
    """

    class Kind(models.TextChoices):
        REPAIR_LESSON = "repair_lesson", _("Repair lesson")
        POLICY_FRICTION = "policy_friction", _("Policy friction")
        ADOPTION_SIGNAL = "adoption_signal", _("Adoption signal")
        BLOCKING_SIGNAL = "blocking_signal", _("Blocking signal")

    class Review(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        RETIRED = "retired", _("Retired")

    worker = models.ForeignKey(
        "repairs.Worker",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="learning_updates",
        verbose_name=_("worker"),
    )
    event = models.ForeignKey(
        "repairs.RepairEvent",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="learning_updates",
        verbose_name=_("event"),
    )
    team = models.SlugField(
        _("team"), max_length=100, blank=True, help_text=_("Blank: the whole fleet")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    error_class = models.SlugField(_("error class"), max_length=100)
    lesson = models.TextField(_("lesson"))
    fix = models.TextField(_("fix"), blank=True)
    next_round_priority = models.PositiveSmallIntegerField(
        _("next-round priority"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text=_("1 = do first … 5 = last"),
    )
    # SHA-256 of the normalised lesson text: what "the same lesson" means.
    lesson_digest = models.CharField(_("lesson digest"), max_length=64, editable=False)
    occurrences = models.PositiveIntegerField(
        _("occurrences"), default=1, help_text=_("How many times this lesson was learned")
    )
    review = models.CharField(
        _("review"), max_length=10, choices=Review.choices, default=Review.PENDING, db_index=True
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_seen_at = models.DateTimeField(_("last seen at"), auto_now_add=True)

    class Meta:
        verbose_name = _("learning memory update")
        verbose_name_plural = _("learning memory updates")
        db_table = "learning_memory_updates"
        ordering = ["next_round_priority", "-occurrences", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "kind", "error_class", "lesson_digest"],
                name="learning_update_one_per_lesson",
            ),
            models.CheckConstraint(
                condition=Q(next_round_priority__gte=1, next_round_priority__lte=5),
                name="learning_update_priority_1_to_5",
            ),
        ]
        indexes = [models.Index(fields=["kind", "created_at"], name="learning_update_kind_time")]

    def __str__(self) -> str:
        return f"{self.kind}/{self.error_class}: {self.lesson[:60]}"


class PromptPackExport(models.Model):
    """A record that a team's prompt pack was exported (API or console), and what it held."""

    team = models.SlugField(
        _("team"), max_length=100, blank=True, help_text=_("Blank: the whole fleet")
    )
    exported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("exported by"),
    )
    lesson_count = models.PositiveIntegerField(_("lessons"))
    digest = models.CharField(
        _("hash"), max_length=64, help_text=_("SHA-256 of the Markdown exported")
    )
    exported_at = models.DateTimeField(_("exported at"), auto_now_add=True)

    class Meta:
        verbose_name = _("prompt pack export")
        verbose_name_plural = _("prompt pack exports")
        db_table = "learning_prompt_pack_exports"
        ordering = ["-exported_at", "-id"]

    def __str__(self) -> str:
        said = {"team": self.team or gettext("the whole fleet"), "at": when(self.exported_at)}
        return gettext("prompt pack for %(team)s at %(at)s") % said
