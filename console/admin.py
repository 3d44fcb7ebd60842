"""The console's own admin pages: the audit trail (``console.audit``)."""

from console import audit  # noqa: F401  (registers the audit page)
