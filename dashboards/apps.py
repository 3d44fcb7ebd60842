from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    """The reliability scorecard, the D7 acceptance panel and the milestone tracker: read-only
    figures drawn from every other app's records."""

    name = "dashboards"
