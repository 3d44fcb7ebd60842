"""Backups of the database: a consistent ``pg_dump`` custom-format dump beside a sha256 file
that ``sha256sum -c`` reads, and its restore into an empty database.

pg_dump reads every table in one snapshot (a repeatable-read transaction), so a dump taken
while the console runs is consistent. The connection settings go to pg_dump and pg_restore
in their environment (``PGPASSWORD`` among them), never on a command line others can read.
"""

import hashlib
import os
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connection

CHECKSUM_SUFFIX = ".sha256"
_CHUNK = 1 << 20


class BackupError(Exception):
    """A backup or restore that did not happen; the message says why."""


@dataclass(frozen=True)
class Backup:
    dump: Path
    checksum: Path
    sha256: str
    size: int


def database_backup(*, directory: Path, keep: int = 0) -> Backup:
    """Writes ``pls-<UTC time>.dump`` and ``….dump.sha256`` into ``directory``. The dump is
    written under a temporary name and renamed once pg_dump succeeded, so a listed dump is
    always whole. ``keep``: delete all but the newest ``keep`` dumps (0 keeps all)."""
    _require_postgresql()
    directory.mkdir(parents=True, exist_ok=True)
    name = f"pls-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.dump"
    dump, partial = directory / name, directory / f".{name}.partial"
    _run(["pg_dump", "--format=custom", f"--file={partial}"], "pg_dump")
    digest = _sha256(partial)
    partial.rename(dump)
    checksum = dump.with_name(dump.name + CHECKSUM_SUFFIX)
    checksum.write_text(f"{digest}  {dump.name}\n")
    if keep > 0:
        for old in sorted(directory.glob("pls-*.dump"), reverse=True)[keep:]:
            old.unlink()
            old.with_name(old.name + CHECKSUM_SUFFIX).unlink(missing_ok=True)
    return Backup(dump=dump, checksum=checksum, sha256=digest, size=dump.stat().st_size)


def database_restore(*, dump: Path) -> None:
    """Restores ``dump`` into the configured database, which must be empty (a new one):
    the checksum file is checked first, and the restore is one transaction, so it either
    completes or leaves the database as it was."""
    _require_postgresql()
    checksum = dump.with_name(dump.name + CHECKSUM_SUFFIX)
    if not checksum.exists():
        raise BackupError(f"{checksum} is missing: the dump cannot be checked.")
    expected = checksum.read_text().split()[0]
    if _sha256(dump) != expected:
        raise BackupError(f"{dump} does not match {checksum.name}: it is damaged or incomplete.")
    if connection.introspection.table_names():
        raise BackupError(
            f"The database {connection.settings_dict['NAME']!r} has tables: restore into a new, "
            "empty one (createdb), then point DATABASE_URL at it."
        )
    _run(
        [
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={connection.settings_dict['NAME']}",
            str(dump),
        ],
        "pg_restore",
    )


def _require_postgresql() -> None:
    if connection.vendor != "postgresql":
        raise BackupError(
            "manage.py backup and restore work on PostgreSQL. On the embedded SQLite copy the "
            'file while it runs: sqlite3 .var/pls.sqlite3 ".backup .var/pls-backup.sqlite3"'
        )


def _environment() -> dict[str, str]:
    db = connection.settings_dict
    env = {**os.environ, "PGDATABASE": db["NAME"]}
    for variable, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER")):
        if db.get(key):
            env[variable] = str(db[key])
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return env


def _run(command: list[str], tool: str) -> None:
    try:
        done = subprocess.run(  # noqa: S603 - fixed programs, arguments from settings
            command, env=_environment(), capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise BackupError(
            f"{tool} is not installed (Debian: apt-get install postgresql-client)."
        ) from None
    if done.returncode != 0:
        raise BackupError(f"{tool} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def backup_directory() -> Path:
    return Path(settings.PLS_BACKUP_DIR)
