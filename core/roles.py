"""The four roles of DESIGN §1 as Django groups, and the helper data migrations use to grant them.

Each app's data migration grants the permissions its own models need, so a role's rights
grow with the product without one migration knowing every app.
"""

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ObjectDoesNotExist

if TYPE_CHECKING:  # models modules import the role names before the app registry is ready
    from django.apps.registry import Apps
    from django.contrib.auth.models import AnonymousUser, User

WORKER = "worker"
PLS_OWNER = "pls_owner"
RISK_REVIEWER = "risk_reviewer"
OPS_VIEWER = "ops_viewer"
ROLES = (WORKER, PLS_OWNER, RISK_REVIEWER, OPS_VIEWER)


def grant(apps: "Apps", role_permissions: dict[str, list[str]]) -> None:
    """Adds ``app_label.codename`` permissions to each role's group, creating what is missing.

    Permissions are normally created after migrations run, so this creates them first; it is
    safe to run more than once.
    """
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        # create_permissions() skips an app whose models_module is unset, as it is on a
        # migration's app configs; any true value lets it through.
        app_config.models_module = True  # type: ignore[assignment]
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in role_permissions.items():
        group, _ = Group.objects.get_or_create(name=role)
        for perm in perms:
            app_label, codename = perm.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def has_role(user: "User | AnonymousUser", role: str) -> bool:
    """Whether ``user`` acts in ``role``. A superuser holds every role, but four-eyes rules
    still apply to them."""
    if not user.is_active:
        return False
    return user.is_superuser or user.groups.filter(name=role).exists()


# The roles that decide: proposals, lessons and, as the policy names them, self-heal requests.
DECIDING_ROLES = frozenset({PLS_OWNER, RISK_REVIEWER})


def roles_of(user: Any) -> frozenset[str]:
    """Every role ``user`` acts in, read in one query (``has_role`` asks once per role): what
    a page that checks many rows reads once."""
    if not user.is_active:
        return frozenset()
    if user.is_superuser:
        return frozenset(ROLES)
    return frozenset(user.groups.values_list("name", flat=True))


def acts_as_decider(user: Any, roles: Collection[str] | None = None) -> bool:
    """Whether ``user`` acts as the PLS owner or the risk reviewer (``roles``, when the caller
    has read them already with ``roles_of``)."""
    held = roles_of(user) if roles is None else roles
    return not DECIDING_ROLES.isdisjoint(held)


def acting_worker(user: Any) -> Any:
    """The worker ``user`` acts as (a ``repairs.Worker``: the kernel names no app's model),
    or None for a person.

    A worker's Django user carries it as ``user.worker`` (the worker's one-to-one ``user``);
    Django remembers the answer on the user object, found or not, so asking again is free.
    """
    try:
        return user.worker
    except ObjectDoesNotExist:
        return None
