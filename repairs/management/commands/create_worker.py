from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from repairs.models import Worker
from repairs.services import worker_callback_secret_rotate, worker_register, worker_token_issue


class Command(BaseCommand):
    help = (
        "Creates a worker; prints its callback signing secret, then its API token as the last "
        "line (each shown only this once)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="unique slug, e.g. codex-7")
        parser.add_argument("--team", required=True, help="team slug, e.g. alpha")
        parser.add_argument("--kind", choices=Worker.Kind.values, default=Worker.Kind.OTHER)
        parser.add_argument(
            "--budget-cents", type=int, default=0, help="monthly budget in cents (0 = none)"
        )

    def handle(self, *args: object, **options: object) -> None:
        name = str(options["name"])
        if Worker.objects.filter(name=name).exists():
            raise CommandError(f"A worker named {name!r} exists; issue a token in the console.")
        worker = Worker(
            name=name,
            team=str(options["team"]),
            kind=str(options["kind"]),
            monthly_budget_cents=int(options["budget_cents"]),  # type: ignore[call-overload]
        )
        try:
            worker_register(worker)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        secret = worker_callback_secret_rotate(worker=worker)
        _, raw = worker_token_issue(worker=worker, label="create_worker")
        self.stdout.write(f"Created worker {worker.name} (team {worker.team}).")
        self.stdout.write(f"Its self-heal callbacks are signed with (Standard Webhooks): {secret}")
        self.stdout.write("Its API token:")
        self.stdout.write(raw)
