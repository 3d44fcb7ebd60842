from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from console import health, metrics

api_v1 = [
    path("", include("repairs.urls")),
    path("", include("policies.urls")),
    path("", include("artifacts.urls")),
    path("", include("learning.urls")),
    path("", include("dashboards.urls")),
    path("", include("console.urls")),
]

urlpatterns = [
    path("", health.root_redirect),
    path("health", health.health, name="health"),
    path("ready", health.ready, name="ready"),
    # Before django-prometheus's own /metrics: adds the collectors that read the database.
    path("metrics", metrics.metrics_view, name="prometheus-django-metrics"),
    path("", include("django_prometheus.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

handler400 = "core.problems.bad_request"
handler404 = "core.problems.not_found"
handler500 = "core.problems.server_error"
