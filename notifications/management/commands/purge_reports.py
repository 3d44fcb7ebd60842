from django.core.management.base import BaseCommand, CommandParser

from notifications.services import report_purge_archived


class Command(BaseCommand):
    help = (
        "Deletes sent and suppressed owner reports older than N days (pending, unrouted and "
        "failed ones are kept), in batches: the purge retention runs every hour with "
        "PLS_RETAIN_REPORTS_DAYS, on demand with another age."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than-days", type=int, required=True, metavar="N")

    def handle(self, *args, older_than_days: int, **options) -> None:
        purged = report_purge_archived(older_than_days=older_than_days)
        self.stdout.write(f"Purged {purged} archived report(s) older than {older_than_days} days.")
