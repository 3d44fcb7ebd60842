"""The repairs screens of the console, one module per record."""

from repairs.admin import events, jobs, self_heal, tool_verdicts, workers  # noqa: F401
