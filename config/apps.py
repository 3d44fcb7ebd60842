from django.contrib.admin.apps import AdminConfig


class OpsConsoleAdminConfig(AdminConfig):
    """The Django admin, installed as the PLS Ops Console."""

    default_site = "config.admin.OpsConsoleSite"
