"""What can go wrong talking to the console, as exceptions the command and the hooks tell
apart: a hook fails closed on ``ServerUnavailable`` and on a server fault, and reports any
other problem as the console's refusal."""

from typing import Any

from pls_client.i18n import _


class PlsError(Exception):
    """A command failed; ``str()`` is the line a person reads."""


class ConfigError(PlsError):
    """The client is not configured (no URL or token, a malformed config file)."""


class ServerUnavailable(PlsError):
    """No answer from the console: refused or reset connections, timeouts, after retries."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(_("PLS at {url} did not answer: {reason}").format(url=url, reason=reason))
        self.url, self.reason = url, reason


class ProblemAnswer(PlsError):
    """The console answered with an error: an RFC 9457 problem document (or, from something
    that is not the console, any other error body)."""

    def __init__(self, status: int, document: dict[str, Any]) -> None:
        self.status = status
        self.document = document
        self.title = str(document.get("title") or _("HTTP {status}").format(status=status))
        self.detail = str(document.get("detail") or "")
        self.type = str(document.get("type") or "")
        line = f"{status} {self.title}"
        super().__init__(f"{line}: {self.detail}" if self.detail else line)

    @property
    def server_fault(self) -> bool:
        """A 5xx: the console could not judge, which is not the same as a refusal."""
        return self.status >= 500

    @property
    def slug(self) -> str:
        """The last part of the problem type, e.g. ``artifact_guard`` or ``job-held``."""
        return self.type.rstrip("/").rsplit("/", 1)[-1]
