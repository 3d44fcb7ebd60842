from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    """The console's own pages and templates: the home, its panels and the lockout page.
    Installed before ``django.contrib.admin`` so its ``admin/index.html`` is the one used."""

    name = "console"
    verbose_name = _("PLS Ops Console")

    def ready(self) -> None:
        from console import retention

        retention.register_all()


class OpsConsoleAdminConfig(AdminConfig):
    """The Django admin, installed as the PLS Ops Console."""

    default_site = "console.site.OpsConsoleSite"

    def ready(self) -> None:
        super().ready()  # every app's admin module, django-axes' among them
        from console import login_guard

        login_guard.register()
