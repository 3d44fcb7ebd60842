from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.backups import BackupError, database_restore


class Command(BaseCommand):
    help = (
        "Restores a dump made by manage.py backup into the (new, empty) database DATABASE_URL "
        "names, after checking its sha256 file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dump", type=Path)

    def handle(self, *args: object, **options: object) -> None:
        dump = options["dump"]
        try:
            database_restore(dump=dump)  # type: ignore[arg-type]
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Restored {dump}. Next: manage.py migrate --check, then start.")
