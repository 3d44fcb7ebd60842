from django.apps import AppConfig


class ArtifactsConfig(AppConfig):
    """Artifact gate checks: no completion unless the deliverable opens."""

    name = "artifacts"

    def ready(self) -> None:
        from artifacts import metrics  # noqa: F401 - its histogram at zero on /metrics
