from django.urls import path

from learning import api

urlpatterns = [
    path(
        "learning-memory-updates",
        api.LearningUpdateListCreateApi.as_view(),
        name="learning-memory-updates",
    ),
    path(
        "learning-memory-updates/<int:pk>",
        api.LearningUpdateDetailApi.as_view(),
        name="learning-memory-update",
    ),
    path(
        "learning-memory-updates/<int:pk>/accept",
        api.LearningUpdateAcceptApi.as_view(),
        name="learning-memory-update-accept",
    ),
    path(
        "learning-memory-updates/<int:pk>/retire",
        api.LearningUpdateRetireApi.as_view(),
        name="learning-memory-update-retire",
    ),
    path("learning/prompt-pack", api.PromptPackApi.as_view(), name="prompt-pack"),
]
