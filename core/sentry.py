"""Optional error reporting to Sentry (``SENTRY_DSN``), for the web and Celery processes.

Events leave the building, so every string in one (messages, exception values, frames'
variables, breadcrumbs, request data) is redacted in ``before_send`` as log lines are; no
personal data is sent by default, and no performance traces.
"""

from typing import Any

from core.logs import redacted


def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    return redacted(event)


def sentry_start(*, dsn: str, environment: str) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        before_send=before_send,  # type: ignore[arg-type]
        before_breadcrumb=lambda crumb, hint: redacted(crumb),
        send_default_pii=False,
        traces_sample_rate=0.0,
    )
