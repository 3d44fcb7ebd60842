from django.db import models
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

    job = models.ForeignKey("repairs.Job", on_delete=models.PROTECT, related_name="artifact_checks")
    worker = models.ForeignKey(
        "repairs.Worker", on_delete=models.PROTECT, related_name="artifact_checks"
    )
    primary_url = models.URLField(max_length=2000)
    # [{"url": ..., "sha256": ... or absent}], as submitted.
    upload_files = models.JSONField(default=list, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    # One entry per checked URL: url, role (primary/upload), status_code, final_url,
    # latency_ms, content_type, bytes_read, sha256, passed, error.
    results = models.JSONField(default=list, blank=True)
    reason = models.TextField(blank=True, help_text=_("Why the check failed, in words"))
    failing_url = models.URLField(max_length=2000, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Retention empties ``results`` and ``upload_files`` of old finished checks
    # (PLS_RETAIN_CHECK_BODIES_DAYS); the verdict, reason and times stay.
    bodies_purged_at = models.DateTimeField(null=True, blank=True)

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
        return f"check #{self.pk} of {self.job_id} ({self.status})"
