from django.apps import AppConfig


class ArtifactsConfig(AppConfig):
    """Artifact gate checks: no completion unless the deliverable opens."""

    name = "artifacts"
