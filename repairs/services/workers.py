"""Workers, their Django users and their API tokens."""

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import connection, models, transaction
from django.utils import timezone

from core.audit import ADDITION, CHANGE, audit_record
from core.roles import WORKER
from repairs.models import Worker, WorkerToken

# A fixed prefix makes a leaked token easy to recognise and to scan for.
TOKEN_PREFIX = "pls_"


def _digest(raw_token: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is as safe as a slow one here and
    # keeps authentication to one indexed lookup.
    return hashlib.sha256(raw_token.encode()).hexdigest()


@transaction.atomic
def worker_register(worker: Worker) -> Worker:
    """Saves a new worker with the Django user it acts as, in group ``worker``."""
    worker.full_clean(exclude=["user"])
    user = get_user_model().objects.create_user(username=f"worker-{worker.name}")
    user.set_unusable_password()
    user.save(update_fields=["password"])
    user.groups.add(Group.objects.get(name=WORKER))
    worker.user = user
    worker.save()
    return worker


@transaction.atomic
def worker_token_issue(
    *, worker: Worker, issued_by: AbstractBaseUser | None = None, label: str = ""
) -> tuple[WorkerToken, str]:
    """Issues a token and returns it with the raw value, which is never stored or shown again."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = WorkerToken.objects.create(
        worker=worker,
        digest=_digest(raw),
        prefix=raw[:12],
        label=label,
        created_by=issued_by,
    )
    audit_record(
        user=issued_by,
        obj=token,
        action_flag=ADDITION,
        message=f"Issued a token for {worker.name} ({token.prefix}…"
        + (f", {label})." if label else ")."),
    )
    return token, raw


@transaction.atomic
def worker_token_revoke(*, token: WorkerToken, revoked_by: AbstractBaseUser | None = None) -> bool:
    """Revokes a token; returns False if it was already revoked (the first revocation stands)."""
    updated = WorkerToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=revoked_by
    )
    if updated:
        audit_record(
            user=revoked_by,
            obj=token,
            action_flag=CHANGE,
            message=f"Revoked the token {token.prefix}… of {token.worker.name}.",
        )
    return bool(updated)


def worker_token_authenticate(raw_token: str) -> WorkerToken | None:
    """The active token for ``raw_token``, with its worker and user, or None. Records when
    it was last used.

    Every API request of a worker starts here, so it is one hand-written query: the ORM's
    version of the same three-table join spent more CPU composing its SQL and building the
    objects than the database spent answering (a third of the ingest path, profiled).
    Only the query's text is kept, never a token: a revoked token or a deactivated user is
    refused on its next request.
    """
    sql, readers = _token_lookup()
    with connection.cursor() as cursor:
        cursor.execute(sql, [_digest(raw_token)])
        row = cursor.fetchone()
    if row is None:
        return None
    token, worker, user = _instances(readers, row)
    if not user.is_active:
        return None
    worker.user = user  # also answers user.worker without a query
    token.worker = worker
    now = timezone.now()
    # Written at most once a minute per token, so heavy reporting does not turn every
    # request into two writes.
    if token.last_used_at is None or now - token.last_used_at > settings.PLS_TOKEN_TOUCH_INTERVAL:
        WorkerToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


# For each table of the join, in order: the model, its concrete fields' names, and for each
# field that needs them (by position), its column and converters.
_Reader = tuple[type[models.Model], list[str], list[tuple[int, object, list]]]
_token_lookups: dict[str, tuple[str, list[_Reader]]] = {}


def _token_lookup() -> tuple[str, list[_Reader]]:
    """The token query for this database, built once from the models (so a field added to
    any of them is read too), with what turns its raw values into field values."""
    cached = _token_lookups.get(connection.vendor)
    if cached is not None:
        return cached
    qn = connection.ops.quote_name
    user_model = get_user_model()
    columns: list[str] = []
    readers: list[_Reader] = []
    for model, alias in ((WorkerToken, "t"), (Worker, "w"), (user_model, "u")):
        fields = list(model._meta.concrete_fields)
        columns += [f"{alias}.{qn(field.column)}" for field in fields]
        # SQLite hands back text for dates and integers for booleans; Django's converters
        # are what the ORM would apply (none are needed on PostgreSQL).
        converters = []
        for index, field in enumerate(fields):
            column = field.get_col(alias)
            found = [
                *connection.ops.get_db_converters(column),
                *field.get_db_converters(connection),
            ]
            if found:
                converters.append((index, column, found))
        readers.append((model, [field.attname for field in fields], converters))
    token_fk = WorkerToken._meta.get_field("worker")
    user_fk = Worker._meta.get_field("user")
    sql = (
        f"SELECT {', '.join(columns)} "  # noqa: S608 - names from the models, never input
        f"FROM {qn(WorkerToken._meta.db_table)} t "
        f"JOIN {qn(Worker._meta.db_table)} w "
        f"ON w.{qn(Worker._meta.pk.column)} = t.{qn(token_fk.column)} "
        f"JOIN {qn(user_model._meta.db_table)} u "
        f"ON u.{qn(user_model._meta.pk.column)} = w.{qn(user_fk.column)} "
        f"WHERE t.{qn('digest')} = %s AND t.{qn('revoked_at')} IS NULL"
    )
    _token_lookups[connection.vendor] = (sql, readers)
    return sql, readers


def _instances(readers: list[_Reader], row: tuple) -> list[models.Model]:
    instances, start = [], 0
    for model, names, converters in readers:
        values = list(row[start : start + len(names)])
        start += len(names)
        for index, column, field_converters in converters:
            for convert in field_converters:
                values[index] = convert(values[index], column, connection)
        instances.append(model.from_db(connection.alias, names, values))
    return instances
