from django.core.management.base import BaseCommand, CommandParser

from core.clock import when
from core.retention import kinds, retention_purge


class Command(BaseCommand):
    help = (
        "Ages out old records now, as the hourly beat task does: each kind older than its "
        "PLS_RETAIN_*_DAYS setting, in batches. Decisions and the audit trail are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--kind",
            action="append",
            choices=[kind.name for kind in kinds()],
            help="only this kind (repeatable); default: every kind",
        )

    def handle(self, *args, kind: list[str] | None, **options) -> None:
        for name, purged in retention_purge(only=kind).items():
            if not purged.days:
                self.stdout.write(f"{name}: kept for ever (its setting is 0)")
            else:
                self.stdout.write(
                    f"{name}: removed {purged.removed} older than {purged.days} days "
                    f"(before {when(purged.cutoff)})"
                )
