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


def requires(*perms: str) -> type[BasePermission]:
    """A permission class for an action that needs these permissions, whatever the method
    (deciding is a POST that needs ``change_``, not ``add_``)."""

    class Requires(BasePermission):
        def has_permission(self, request, view) -> bool:  # type: ignore[no-untyped-def]
            return bool(request.user and request.user.has_perms(perms))

    Requires.__name__ = "Requires_" + "_".join(p.split(".")[-1] for p in perms)
    return Requires
