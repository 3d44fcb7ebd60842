from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.secrets import Unopened, sealed_fields


class Command(BaseCommand):
    help = (
        "Seals every stored secret again under the first of PLS_SECRET_ENCRYPTION_KEYS, so the "
        "other keys can be dropped."
    )

    def handle(self, *args: object, **options: object) -> None:
        unopened = 0
        for model in apps.get_models():
            fields = sealed_fields(model)
            if not fields:
                continue
            count = 0
            with transaction.atomic():
                for row in model._default_manager.select_for_update().only("pk", *fields):
                    # Read, each is opened by whichever key sealed it; saved, each is sealed
                    # by the first (one no key opens is written back as it was).
                    shut = [name for name in fields if isinstance(getattr(row, name), Unopened)]
                    row.save(update_fields=fields)
                    count += 1
                    if shut:
                        unopened += 1
                        self.stderr.write(
                            f"{model._meta.label} #{row.pk}: {', '.join(shut)} opened by no "
                            "key, kept as stored"
                        )
            self.stdout.write(f"{model._meta.label}: {count} row(s) resealed")
        if unopened:
            raise CommandError(
                f"{unopened} row(s) hold secrets no key in PLS_SECRET_ENCRYPTION_KEYS opens: "
                "keep the key that sealed them until they are entered again"
            )
