from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    """Versioned worker policy, the action ladder, proposals and decision records."""

    name = "policies"

    def ready(self) -> None:
        from policies import metrics  # noqa: F401 - its histogram at zero on /metrics
