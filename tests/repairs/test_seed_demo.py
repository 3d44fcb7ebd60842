import re

from django.contrib.auth import authenticate
from django.core.management import call_command
from rest_framework.test import APIClient

from repairs.models import Gate, Job, RepairEvent, WorkerToken


def _seed(capsys) -> str:
    call_command("seed_demo")
    return capsys.readouterr().out


def test_seed_demo_creates_people_workers_jobs_and_events(db, capsys):
    output = _seed(capsys)

    password = re.search(r"owner\s+(\S+)\s+pls_owner", output).group(1)
    for username in ("owner", "reviewer", "viewer"):
        person = authenticate(username=username, password=password)
        assert person is not None and person.is_staff
    assert Job.objects.count() == 4
    assert RepairEvent.objects.exclude(gate=Gate.REPAIR_SUGGESTED).count() == 5
    tokens = re.findall(r"^\s+\S+-demo\s+(pls_\S+)$", output, flags=re.MULTILINE)
    assert len(tokens) == 2
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens[0]}")
    assert client.get("/api/v1/worker-repair-events").status_code == 200


def test_seed_demo_runs_again_without_duplicating_and_revokes_old_tokens(db, capsys):
    _seed(capsys)
    output = _seed(capsys)

    assert Job.objects.count() == 4
    assert RepairEvent.objects.exclude(gate=Gate.REPAIR_SUGGESTED).count() == 5
    assert WorkerToken.objects.filter(revoked_at__isnull=True).count() == 2
    assert WorkerToken.objects.filter(revoked_at__isnull=False).count() == 2
    assert "Demo logins" in output
