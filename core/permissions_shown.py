"""Permissions as a person reads them on the User and Group forms, in their language.

Django stores the built-in permissions' names in English when it creates them ("Can add
log entry"); the forms show them as they are. Here a built-in one is written again from
its action and its model's (translated) name, and a custom one's stored name is looked up
in the catalogue, where the model that declares it marks it."""

from django.contrib.auth.models import Permission
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

BUILT_IN = {
    "add": _("Can add %(thing)s"),
    "change": _("Can change %(thing)s"),
    "delete": _("Can delete %(thing)s"),
    "view": _("Can view %(thing)s"),
}


def permission_label(permission: Permission) -> str:
    """ "<app> | <model> | <what it allows>", each part in the active language."""
    kind = permission.content_type
    model = kind.model_class()
    action, _sep, model_name = permission.codename.partition("_")
    if model is not None and action in BUILT_IN and model_name == model._meta.model_name:
        allows = BUILT_IN[action] % {"thing": model._meta.verbose_name}
    else:
        allows = gettext(permission.name)
    return f"{kind} | {allows}"
