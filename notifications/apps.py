from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Owner notifications through a transactional outbox."""

    name = "notifications"
