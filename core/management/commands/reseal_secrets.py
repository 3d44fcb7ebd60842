from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from core.models import WEBHOOK_SECRET_FIELDS, WebhookSigned
from core.secrets import reseal


class Command(BaseCommand):
    help = (
        "Seals every stored signing secret again under the first of PLS_SECRET_ENCRYPTION_KEYS, "
        "so the other keys can be dropped."
    )

    def handle(self, *args: object, **options: object) -> None:
        sealed_fields = [name for name in WEBHOOK_SECRET_FIELDS if not name.endswith("_until")]
        for model in apps.get_models():
            if not issubclass(model, WebhookSigned):
                continue
            count = 0
            with transaction.atomic():
                for row in model._default_manager.select_for_update().only("pk", *sealed_fields):
                    for name in sealed_fields:
                        if getattr(row, name):
                            setattr(row, name, reseal(getattr(row, name)))
                    row.save(update_fields=sealed_fields)
                    count += 1
            self.stdout.write(f"{model._meta.label}: {count} row(s) resealed")
