from pathlib import Path
from typing import cast

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.backups import BackupError, backup_directory, database_backup


class Command(BaseCommand):
    help = (
        "Takes a consistent pg_dump custom-format dump of the database into PLS_BACKUP_DIR, "
        "with a sha256 file beside it (sha256sum -c reads it)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dir", type=Path, help="where to write (default PLS_BACKUP_DIR)")
        parser.add_argument(
            "--keep",
            type=int,
            default=settings.PLS_BACKUP_KEEP,
            help="keep only the newest N dumps (0 keeps all; default PLS_BACKUP_KEEP)",
        )

    def handle(self, *args: object, **options: object) -> None:
        directory = cast(Path | None, options["dir"]) or backup_directory()
        try:
            backup = database_backup(directory=directory, keep=cast(int, options["keep"]))
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{backup.dump} ({backup.size} bytes, sha256 {backup.sha256})")
