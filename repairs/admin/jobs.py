from django.contrib import admin

from repairs.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["external_id", "title", "priority", "status", "claimed_by", "lease_expires_at"]
    list_filter = ["status", "priority"]
    search_fields = ["external_id", "title"]
    readonly_fields = ["status", "claimed_by", "lease_expires_at", "attempts", "progress"]
