from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Installed only for the admin kit's templates (``admin/core/``); the kernel has no models."""

    name = "core"
    verbose_name = "Kernel"
