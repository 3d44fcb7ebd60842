from django.urls import path

from repairs.api import events, self_heal

urlpatterns = [
    path("worker-repair-events", events.RepairEventListCreateApi.as_view(), name="repair-events"),
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
]
