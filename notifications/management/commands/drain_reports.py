from django.core.management.base import BaseCommand, CommandError, CommandParser

from notifications.drain import outbox_drain
from notifications.models import Channel
from notifications.selectors import unrouted_count


class Command(BaseCommand):
    help = (
        "Sends pending owner reports now, per channel, oldest first, stopping a channel at its "
        "first failure. Celery does this continuously; this is for operators and cron."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print what would be sent; send and change nothing.",
        )
        parser.add_argument(
            "--max-count",
            type=int,
            default=None,
            help="Reports to send per channel in this run (default: PLS_NOTIFY_MAX_COUNT).",
        )
        parser.add_argument("--channel", help="Drain only this channel (by name).")

    def handle(
        self, *args, dry_run: bool, max_count: int | None, channel: str | None, **options
    ) -> None:
        if max_count is not None and max_count < 1:
            raise CommandError("--max-count must be 1 or more")
        if channel and not Channel.objects.filter(name=channel).exists():
            raise CommandError(f"No channel named {channel!r}.")
        verb = "would send" if dry_run else "sent"
        results = outbox_drain(channel_name=channel, max_count=max_count, dry_run=dry_run)
        if not results:
            self.stdout.write("No enabled channel: add one in the console (Channels).")
        if unrouted := unrouted_count():
            self.stdout.write(f"{unrouted} report(s) unrouted: no enabled channel matches them.")
        for result in results:
            line = (
                f"{result.channel}: {verb} {result.sent}, suppressed {result.suppressed}, "
                f"failed {result.failed}"
            )
            if result.stopped:
                line += f" (stopped: {result.stopped})"
            self.stdout.write(line)
            for text in result.preview:
                self.stdout.write("  " + text.replace("\n", "\n  "))
