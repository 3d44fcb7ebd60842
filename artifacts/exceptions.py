from django.utils.translation import gettext_lazy as _

from core.exceptions import Conflict


class GuardNotPassed(Conflict):
    """The job may not complete: its latest artifact check has not passed (DESIGN §2
    ``artifact_guard``: no openable primary artifact, no completion).

    The problem document carries ``guard`` (``no_check``, ``pending``, ``running``,
    ``failed``, ``error`` or ``other_worker``), the ``check`` id, its ``reason`` and the
    ``failing_url``, so a worker knows what to fix without another request.
    """

    type_slug = "artifact_guard"
    title = _("Artifact guard not passed")
