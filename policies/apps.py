from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PoliciesConfig(AppConfig):
    """Versioned worker policy, the action ladder, proposals and decision records."""

    name = "policies"
    verbose_name = _("Policies")

    def ready(self) -> None:
        from policies import metrics  # noqa: F401 - its histogram at zero on /metrics
