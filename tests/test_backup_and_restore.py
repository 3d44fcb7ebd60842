"""The README's restore procedure, run as written against a real PostgreSQL: a backup of a
database holding records, restored into a new database, where the app starts (no migration
missing, system checks pass) and the records, the append-only triggers and the policy
versions are found intact."""

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from policies.models import PolicyDecision, WorkerPolicy
from repairs.models import RepairEvent, Worker
from repairs.services import repair_event_report
from tests.factories import WorkerFactory, policy_set

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def readme_restore_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Backups and restore") :]
    match = re.search(r"```sh\n(# 1\. The newest dump.*?)```", section, re.DOTALL)
    assert match, "the README's restore procedure is missing"
    return match.group(1)


def url_of(name: str) -> str:
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{name}"


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture
def restored_db():
    name = f"pls_restored_{uuid.uuid4().hex[:8]}"
    yield name
    with psycopg.connect(
        url_of("postgres").replace("postgres://", "postgresql://"), autocommit=True
    ) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_readme_procedure_restores_records_triggers_and_policy_versions(tmp_path, restored_db):
    worker = WorkerFactory(name="restored-worker")
    events = [
        repair_event_report(
            worker=worker, gate="stuck_claim", error_class="backup_drill", message=f"attempt {n}"
        ).event.pk
        for n in range(3)
    ]
    policy_set(max_auto_retries=2)
    versions = list(
        WorkerPolicy.objects.order_by("pk").values_list(
            "pk", "version", "max_auto_retries", "approval_matrix"
        )
    )
    decisions = PolicyDecision.objects.count()
    connection.close()  # pg_dump must not wait for this test's connection

    env = {
        **os.environ,
        "DATABASE_URL": url_of(settings.DATABASES["default"]["NAME"]),
        "PLS_BACKUP_DIR": str(tmp_path),
        "RESTORED_DB": restored_db,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    env.pop("REDIS_URL", None)
    backup = run([sys.executable, "manage.py", "backup"], env)
    (dump,) = tmp_path.glob("pls-*.dump")
    assert str(dump) in backup.stdout
    assert (tmp_path / f"{dump.name}.sha256").read_text().endswith(f"  {dump.name}\n")

    run(["bash", "-euo", "pipefail", "-c", readme_restore_block()], env)

    with psycopg.connect(url_of(restored_db).replace("postgres://", "postgresql://")) as db:
        restored_events = [
            row[0]
            for row in db.execute(
                "SELECT id FROM worker_repair_events "
                "WHERE error_class = 'backup_drill' AND gate = 'stuck_claim' ORDER BY id"
            )
        ]
        assert restored_events == events
        assert db.execute(
            "SELECT count(*) FROM repairs_worker WHERE name = 'restored-worker'"
        ).fetchone() == (1,)
        assert (
            list(
                db.execute(
                    "SELECT id, version, max_auto_retries, approval_matrix "
                    "FROM worker_policies ORDER BY id"
                )
            )
            == versions
        )
        assert db.execute("SELECT count(*) FROM worker_policy_decisions").fetchone() == (decisions,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            db.execute("UPDATE worker_policy_decisions SET rationale = 'rewritten'")
    assert Worker.objects.filter(name="restored-worker").exists()
    assert RepairEvent.objects.filter(pk__in=events).count() == 3


def test_restore_refuses_a_damaged_dump(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": url_of(settings.DATABASES["default"]["NAME"]),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    connection.close()
    run([sys.executable, "manage.py", "backup", "--dir", str(tmp_path)], env)
    (dump,) = tmp_path.glob("pls-*.dump")
    with dump.open("ab") as damaged:
        damaged.write(b"\0")

    done = subprocess.run(
        [sys.executable, "manage.py", "restore", str(dump)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode != 0
    assert "does not match" in done.stderr
