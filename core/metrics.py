"""The registry of collectors that read the database when /metrics is scraped.

In gunicorn's multi-process mode django-prometheus answers only from the files its workers
write; a collector registered in the default registry would never show. Apps add their
scrape-time collectors here from ``AppConfig.ready()``; the console's /metrics view appends
them, in either mode.
"""

from prometheus_client import CollectorRegistry

scrape_registry = CollectorRegistry(auto_describe=False)
