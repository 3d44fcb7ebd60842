from django.contrib import admin


class OpsConsoleSite(admin.AdminSite):
    site_header = "PLS Ops Console"
    site_title = "PLS Ops Console"
    index_title = "Fleet governance"
