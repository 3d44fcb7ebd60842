from django.db.models import Model
from rest_framework.permissions import BasePermission, DjangoModelPermissions


class RolePermissions(DjangoModelPermissions):
    """Model permissions granted through the role groups, with reading needing ``view_*`` too.

    DRF's default lets any authenticated user read; here an account outside every role
    reads nothing.
    """

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_permission(self, request, view) -> bool:  # type: ignore[no-untyped-def]
        user = request.user
        if not user or (not user.is_authenticated and self.authenticated_users_only):
            return False
        if getattr(view, "_ignore_model_permissions", False):
            return True
        perms = self.get_required_permissions(request.method, self._model(view))
        return user.has_perms(perms)

    def _model(self, view) -> type[Model]:  # type: ignore[no-untyped-def]
        """The model whose permissions the view needs.

        DRF calls ``get_queryset()`` only to learn it; on list views that builds the user's
        filtered queryset on every request, including every POST of the ingest path. A
        view's class-level ``queryset`` names the same model without that work.
        """
        queryset = getattr(view, "queryset", None)
        if queryset is None:
            queryset = self._queryset(view)
        return queryset.model


def requires(*perms: str) -> type[BasePermission]:
    """A permission class for an action that needs these permissions, whatever the method
    (deciding is a POST that needs ``change_``, not ``add_``)."""

    class Requires(BasePermission):
        def has_permission(self, request, view) -> bool:  # type: ignore[no-untyped-def]
            return bool(request.user and request.user.has_perms(perms))

    Requires.__name__ = "Requires_" + "_".join(p.split(".")[-1] for p in perms)
    return Requires
