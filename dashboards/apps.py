from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardsConfig(AppConfig):
    """The reliability scorecard, the D7 acceptance panel and the milestone tracker: read-only
    figures drawn from every other app's records."""

    name = "dashboards"
    verbose_name = _("Dashboards")

    def ready(self) -> None:
        from dashboards.digests import daily_scorecard, weekly_learning_review
        from notifications import digests

        digests.register(digests.DAILY_SCORECARD, daily_scorecard)
        digests.register(digests.WEEKLY_LEARNING, weekly_learning_review)
