"""/metrics: django-prometheus's samples, plus collectors that read the database at scrape.

In gunicorn's multi-process mode django-prometheus answers only from the files its workers
write; a collector registered in the default registry would never show. Apps add their
scrape-time collectors to ``scrape_registry`` from ``AppConfig.ready()`` and this view
appends them, in either mode.
"""

from django.http import HttpRequest, HttpResponse
from django_prometheus.exports import ExportToDjangoView
from prometheus_client import CollectorRegistry, generate_latest

scrape_registry = CollectorRegistry(auto_describe=False)


def metrics_view(request: HttpRequest) -> HttpResponse:
    response = ExportToDjangoView(request)
    response.content = response.content + generate_latest(scrape_registry)
    return response
