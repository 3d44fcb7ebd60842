from django.urls import path

from repairs import api

urlpatterns = [
    path("worker-repair-events", api.RepairEventListCreateApi.as_view(), name="repair-events"),
]
