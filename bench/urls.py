from django.urls import path

from bench.bare import bare_repair_event
from config.urls import handler400, handler404, handler500, urlpatterns

urlpatterns = [
    path("bench/bare-repair-events", bare_repair_event, name="bench-bare-repair-events"),
    *urlpatterns,
]

__all__ = ["handler400", "handler404", "handler500", "urlpatterns"]
