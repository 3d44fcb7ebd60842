from django.contrib.auth.models import AbstractBaseUser
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from core.logs import bind_actor
from repairs import metrics
from repairs.models import WorkerToken
from repairs.services import worker_token_authenticate


class WorkerTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <token>``: the request acts as the token's worker.

    A request without a Bearer header falls through to the session (people reading the
    API); a Bearer header with an unknown or revoked token is refused with 401.
    """

    keyword = "bearer"

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, WorkerToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Use 'Authorization: Bearer <token>'."))
        try:
            raw = header[1].decode()
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(_("The token is not valid.")) from exc
        token = worker_token_authenticate(raw)
        if token is None:
            metrics.auth_failures.inc()
            raise exceptions.AuthenticationFailed(_("The token is unknown or revoked."))
        bind_actor(worker=token.worker.name)
        return token.worker.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="pls"'


class WorkerTokenScheme(OpenApiAuthenticationExtension):
    """Describes the worker token to the OpenAPI schema as an HTTP bearer scheme."""

    target_class = WorkerTokenAuthentication
    name = "workerToken"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A worker's API token, from `manage.py create_worker` or the console.",
        }
