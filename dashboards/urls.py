from django.urls import path

from dashboards import api

urlpatterns = [
    path("scorecard", api.ScorecardApi.as_view(), name="scorecard"),
]
