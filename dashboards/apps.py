from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    """The reliability scorecard, the D7 acceptance panel and the milestone tracker: read-only
    figures drawn from every other app's records."""

    name = "dashboards"

    def ready(self) -> None:
        from dashboards.digests import with_scorecard
        from notifications import digests

        # The repairs app registered the daily digest's head when it was ready (it comes
        # before this app in INSTALLED_APPS); the digest the owner gets carries the
        # scorecard too. Registering again replaces the builder (notifications.digests).
        head = digests.builder(digests.DAILY_SCORECARD)
        if head is not None:
            digests.register(digests.DAILY_SCORECARD, with_scorecard(head))
