from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import admin_link
from repairs.models import Job
from repairs.services import job_create


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """The queue: who holds what and until when. Claims, leases and the stuck mark change
    only through the API and the watchdog, so they are read-only here; the owner registers
    jobs and may correct a title or priority."""

    list_display = [
        "external_id",
        "title",
        "priority",
        "status",
        "holder",
        "lease",
        "stuck_at",
        "attempts",
        "created_at",
    ]
    list_filter = [
        "status",
        "priority",
        "claimed_by__team",
        ("stuck_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["external_id", "title", "claimed_by__name"]
    list_select_related = ["claimed_by"]
    fields = [
        "external_id",
        "title",
        "priority",
        "status",
        "holder",
        "claimed_at",
        "lease_expires_at",
        "attempts",
        "progress",
        "stuck_at",
        "completed_at",
        "created_at",
        "updated_at",
    ]
    readonly_fields = [
        "status",
        "holder",
        "claimed_at",
        "lease_expires_at",
        "attempts",
        "progress",
        "stuck_at",
        "completed_at",
        "created_at",
        "updated_at",
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Job | None = None) -> list[str]:
        # Workers and events name a job by its external id; it is set once.
        return [*self.readonly_fields, "external_id"] if obj else self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # events and checks refer to jobs; a finished job stays as history

    def save_model(self, request: HttpRequest, obj: Job, form: object, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
        else:
            created = job_create(
                external_id=obj.external_id,
                title=obj.title,
                priority=obj.priority,
                by=request.user,
            )
            obj.pk, obj.created_at = created.pk, created.created_at
            obj._state.adding = False

    # job_create wrote the audit entry of an added job (core.audit); a change of title or
    # priority is saved, and logged, by the admin itself.
    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> None:
        return None

    @admin.display(description=_("holder"), ordering="claimed_by__name")
    def holder(self, job: Job) -> str:
        return admin_link(job.claimed_by)

    @admin.display(description=_("lease"), ordering="lease_expires_at")
    def lease(self, job: Job) -> str:
        if job.lease_expires_at is None:
            return "—"
        if job.lease_expires_at <= timezone.now():
            return gettext("expired %(time)s ago") % {"time": timesince(job.lease_expires_at)}
        return gettext("%(time)s left") % {"time": timeuntil(job.lease_expires_at)}
