from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The admin kit's templates (``admin/core/``) and the one kernel model, the metric totals
    every process adds to (``core.metrics``)."""

    name = "core"
    verbose_name = "Kernel"
