from django.db import models


class MetricTotal(models.Model):
    """One Prometheus sample kept in the database (``core.metrics``): a counter's total, or a
    histogram's bucket, sum or count, added to by whichever process did the work and read by
    /metrics at scrape time. Rows only grow; nothing purges them, so no total goes back."""

    sample = models.CharField(max_length=200, help_text="e.g. pls_repair_events_total")
    labels = models.CharField(
        max_length=500, blank=True, help_text='Canonical JSON, e.g. {"gate":"stuck_claim"}'
    )
    value = models.FloatField(default=0.0)

    class Meta:
        db_table = "pls_metric_totals"
        constraints = [
            models.UniqueConstraint(fields=["sample", "labels"], name="metric_total_unique")
        ]

    def __str__(self) -> str:
        return f"{self.sample}{self.labels} = {self.value}"
