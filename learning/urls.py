from django.urls import path

from learning import api

# The list (and a worker's report) of learning-memory-updates is repairs.api.lessons: a
# report may name one of the worker's repair events.

urlpatterns = [
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
