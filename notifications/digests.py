"""Scheduled digests, built by the apps that own the figures.

Notifications may not import the apps that call it, so those apps register a builder here
from their ``AppConfig.ready()``; beat runs ``notifications.tasks.send_digest(name)``::

    from notifications import digests

    digests.register("daily_scorecard", build_daily_scorecard)

A builder takes no argument and returns the keyword arguments of ``report_enqueue``
(``source`` and ``dedup_key`` default to ``digest.<name>`` and one per day), or None when
there is nothing to report.
"""

from collections.abc import Callable
from typing import Any

Builder = Callable[[], dict[str, Any] | None]

DAILY_SCORECARD = "daily_scorecard"
WEEKLY_LEARNING = "weekly_learning"

_builders: dict[str, Builder] = {}


def register(name: str, builder: Builder) -> None:
    """Sets the builder for ``name``; registering again replaces it."""
    _builders[name] = builder


def unregister(name: str) -> None:
    _builders.pop(name, None)


def builder(name: str) -> Builder | None:
    return _builders.get(name)
