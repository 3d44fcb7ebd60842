from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class ArtifactGateCheck(models.Model):
    """A check that a job's deliverable opens: its primary URL and every upload answer 200.

    A worker submits the URLs; a Celery task fetches them and stores one evidence entry per
    URL in ``results``. The job may complete only if its latest check ``passed``.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        PASSED = "passed", _("Passed")
        FAILED = "failed", _("Failed")
        ERROR = "error", _("Error")

    FINAL = (Status.PASSED, Status.FAILED, Status.ERROR)

    job = models.ForeignKey(
        "repairs.Job",
        on_delete=models.PROTECT,
        related_name="artifact_checks",
        verbose_name=_("job"),
    )
    worker = models.ForeignKey(
        "repairs.Worker",
        on_delete=models.PROTECT,
        related_name="artifact_checks",
        verbose_name=_("worker"),
    )
    primary_url = models.URLField(
        max_length=2000, verbose_name=_("primary URL"), help_text=_("The deliverable's main page")
    )
    # [{"url": ..., "sha256": ... or absent}], as submitted.
    upload_files = models.JSONField(
        default=list,
        blank=True,
        verbose_name=_("upload files"),
        help_text=_("Each uploaded file's URL and, when given, its expected sha256"),
    )
    status = models.CharField(
        max_length=10,
        choices=Status.choices,
        default=Status.PENDING,
        db_index=True,
        verbose_name=_("status"),
    )
    # One entry per checked URL: url, role (primary/upload), status_code, final_url,
    # latency_ms, content_type, bytes_read, sha256, passed, error.
    results = models.JSONField(
        default=list,
        blank=True,
        verbose_name=_("results"),
        help_text=_("One entry per checked URL"),
    )
    reason = models.TextField(
        blank=True, help_text=_("Why the check failed, in words"), verbose_name=_("reason")
    )
    failing_url = models.URLField(max_length=2000, blank=True, verbose_name=_("failing URL"))
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    # Retention empties ``results`` and ``upload_files`` of old finished checks
    # (PLS_RETAIN_CHECK_BODIES_DAYS); the verdict, reason and times stay.
    bodies_purged_at = models.DateTimeField(
        null=True,
        blank=True,
        verbose_name=_("bodies purged at"),
        help_text=_(
            "When retention emptied the results and upload files; the verdict, reason and "
            "times stay"
        ),
    )

    class Meta:
        verbose_name = _("artifact gate check")
        verbose_name_plural = _("artifact gate checks")
        db_table = "artifact_gate_checks"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["job", "-created_at", "-id"], name="artifact_check_job_latest"),
            models.Index(fields=["status", "created_at"], name="artifact_check_status_time"),
        ]

    def __str__(self) -> str:
        return gettext("check #%(id)s of %(job)s (%(status)s)") % {
            "id": self.pk,
            "job": self.job_id,
            "status": self.get_status_display(),
        }
