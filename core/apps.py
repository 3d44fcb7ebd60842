from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """The admin kit's templates (``admin/core/``) and the kernel's two tables: the metric
    totals every process adds to (``core.metrics``) and the answers to keyed writes
    (``core.models.IdempotencyKey``)."""

    name = "core"
    verbose_name = _("Kernel")
