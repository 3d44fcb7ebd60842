from django.apps import AppConfig


class RepairsConfig(AppConfig):
    """Workers, their tokens, jobs and the repair events they report."""

    name = "repairs"

    def ready(self) -> None:
        # Registers the project's counters at zero so /metrics shows them before any event.
        from notifications import digests
        from policies import simulation
        from repairs import metrics  # noqa: F401
        from repairs.digests import daily_scorecard
        from repairs.selectors import past_actions

        simulation.past_actions_source(past_actions)

        digests.register(digests.DAILY_SCORECARD, daily_scorecard)
        # The weekly learning review is the learning app's (learning/apps.py).
