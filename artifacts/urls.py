from django.urls import path

from artifacts import api

urlpatterns = [
    path("artifact-gate-checks", api.ArtifactCheckListCreateApi.as_view(), name="artifact-checks"),
    path(
        "artifact-gate-checks/<int:pk>", api.ArtifactCheckDetailApi.as_view(), name="artifact-check"
    ),
    # The completion gate lives here, not in repairs: repairs never imports artifacts.
    path("jobs/<str:external_id>/complete", api.JobCompleteApi.as_view(), name="job-complete"),
]
