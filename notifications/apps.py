from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Owner notifications through a transactional outbox."""

    name = "notifications"

    def ready(self) -> None:
        from notifications import metrics

        metrics.register()
