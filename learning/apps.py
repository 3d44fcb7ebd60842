from django.apps import AppConfig


class LearningConfig(AppConfig):
    """Learning memory fed by every repair, exported back into the workers' prompts."""

    name = "learning"

    def ready(self) -> None:
        from learning.digests import weekly_learning_review
        from notifications import digests

        digests.register(digests.WEEKLY_LEARNING, weekly_learning_review)
