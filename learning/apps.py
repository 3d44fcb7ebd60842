from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LearningConfig(AppConfig):
    """Learning memory fed by every repair, exported back into the workers' prompts."""

    name = "learning"
    verbose_name = _("Learning")
