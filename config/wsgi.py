import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

django_application = get_wsgi_application()

from core.middleware import RequestBodyFraming  # noqa: E402 - needs the settings loaded

# Chunked bodies and bodies the app leaves unread are handled before and after Django.
application = RequestBodyFraming(django_application)
