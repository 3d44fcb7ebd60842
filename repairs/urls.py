from django.urls import path

from repairs.api import events, jobs, lessons, self_heal, tool_verdicts, workers

urlpatterns = [
    path("worker-repair-events", events.RepairEventListCreateApi.as_view(), name="repair-events"),
    path(
        "worker-repair-events/<int:pk>/outcome",
        events.RepairEventOutcomeApi.as_view(),
        name="repair-event-outcome",
    ),
    path(
        "self-heal-requests", self_heal.SelfHealRequestListApi.as_view(), name="self-heal-requests"
    ),
    path(
        "self-heal-requests/<int:pk>",
        self_heal.SelfHealRequestDetailApi.as_view(),
        name="self-heal-request",
    ),
    path(
        "self-heal-requests/<int:pk>/approve",
        self_heal.SelfHealApproveApi.as_view(),
        name="self-heal-request-approve",
    ),
    path(
        "self-heal-requests/<int:pk>/reject",
        self_heal.SelfHealRejectApi.as_view(),
        name="self-heal-request-reject",
    ),
    path("tool-verdicts", tool_verdicts.ToolVerdictListCreateApi.as_view(), name="tool-verdicts"),
    # Jobs, claims and leases. claim-next comes before the routes that take an id.
    path("jobs", jobs.JobListCreateApi.as_view(), name="jobs"),
    path("jobs/claim-next", jobs.JobClaimNextApi.as_view(), name="job-claim-next"),
    path("jobs/<str:external_id>", jobs.JobDetailApi.as_view(), name="job"),
    path("jobs/<str:external_id>/claim", jobs.JobClaimApi.as_view(), name="job-claim"),
    path("jobs/<str:external_id>/heartbeat", jobs.JobHeartbeatApi.as_view(), name="job-heartbeat"),
    path("jobs/<str:external_id>/release", jobs.JobReleaseApi.as_view(), name="job-release"),
    path("jobs/<str:external_id>/reclaim", jobs.JobReclaimApi.as_view(), name="job-reclaim"),
    path(
        "learning-memory-updates",
        lessons.LearningUpdateListCreateApi.as_view(),
        name="learning-memory-updates",
    ),
    path("workers/me", workers.WorkerMeApi.as_view(), name="worker-me"),
    path("workers/me/usage", workers.WorkerUsageApi.as_view(), name="worker-usage"),
]
