from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    """Versioned worker policy, the action ladder, proposals and decision records."""

    name = "policies"
