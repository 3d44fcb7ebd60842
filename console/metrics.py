"""/metrics: django-prometheus's samples, plus the kernel's scrape-time collectors."""

from django.http import HttpRequest, HttpResponse
from django_prometheus.exports import ExportToDjangoView
from prometheus_client import generate_latest

from core.metrics import scrape_registry


def metrics_view(request: HttpRequest) -> HttpResponse:
    response = ExportToDjangoView(request)
    response.content = response.content + generate_latest(scrape_registry)
    return response
