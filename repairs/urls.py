from django.urls import path

from repairs import api

urlpatterns = [
    path("worker-repair-events", api.RepairEventListCreateApi.as_view(), name="repair-events"),
    path("self-heal-requests", api.SelfHealRequestListApi.as_view(), name="self-heal-requests"),
    path(
        "self-heal-requests/<int:pk>",
        api.SelfHealRequestDetailApi.as_view(),
        name="self-heal-request",
    ),
    path(
        "self-heal-requests/<int:pk>/approve",
        api.SelfHealApproveApi.as_view(),
        name="self-heal-request-approve",
    ),
    path(
        "self-heal-requests/<int:pk>/reject",
        api.SelfHealRejectApi.as_view(),
        name="self-heal-request-reject",
    ),
]
