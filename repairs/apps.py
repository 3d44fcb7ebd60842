from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RepairsConfig(AppConfig):
    """Workers, their tokens, jobs and the repair events they report."""

    name = "repairs"
    verbose_name = _("Repairs")

    def ready(self) -> None:
        # Registers the project's counters at zero so /metrics shows them before any event.
        from policies import simulation
        from repairs import metrics
        from repairs.selectors import past_actions, past_tool_calls

        simulation.past_actions_source(past_actions)
        simulation.past_tool_calls_source(past_tool_calls)
        metrics.register()
        # The owner's digests are built by the apps that own their figures: the daily
        # scorecard by dashboards, the weekly learning review by learning.
