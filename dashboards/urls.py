from django.urls import path

from dashboards import api

urlpatterns = [
    path("milestones", api.MilestonesApi.as_view(), name="milestones"),
    path("scorecard", api.ScorecardApi.as_view(), name="scorecard"),
]
