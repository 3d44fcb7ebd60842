from django.apps import AppConfig


class RepairsConfig(AppConfig):
    """Workers, their tokens, jobs and the repair events they report."""

    name = "repairs"

    def ready(self) -> None:
        # Registers the project's counters at zero so /metrics shows them before any event.
        from repairs import metrics  # noqa: F401
