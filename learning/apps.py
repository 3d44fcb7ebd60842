from django.apps import AppConfig


class LearningConfig(AppConfig):
    """Learning memory fed by every repair, exported back into the workers' prompts."""

    name = "learning"
