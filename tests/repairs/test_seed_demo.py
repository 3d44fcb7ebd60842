import re

from django.contrib.auth import authenticate
from django.core.management import call_command
from rest_framework.test import APIClient

from learning.models import LearningMemoryUpdate
from policies.models import Proposal
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
    assert RepairEvent.objects.exclude(gate=Gate.REPAIR_SUGGESTED).count() == 6
    tokens = re.findall(r"^\s+\S+-demo\s+(pls_\S+)$", output, flags=re.MULTILINE)
    assert len(tokens) == 2
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens[0]}")
    assert client.get("/api/v1/worker-repair-events").status_code == 200


def test_seed_demo_runs_again_without_duplicating_and_revokes_old_tokens(db, capsys):
    _seed(capsys)
    output = _seed(capsys)

    assert Job.objects.count() == 4
    assert RepairEvent.objects.exclude(gate=Gate.REPAIR_SUGGESTED).count() == 6
    assert Proposal.objects.filter(question_key="demo_pause_on_repeat").count() == 1
    assert WorkerToken.objects.filter(revoked_at__isnull=True).count() == 2
    assert WorkerToken.objects.filter(revoked_at__isnull=False).count() == 2
    assert "Demo logins" in output


def test_seed_demo_speaks_both_languages(db, capsys):
    _seed(capsys)

    def chinese(text: str) -> bool:
        return re.search(r"[\u4e00-\u9fff]", text) is not None

    lessons = list(LearningMemoryUpdate.objects.values_list("lesson", flat=True))
    friction = list(
        RepairEvent.objects.filter(gate=Gate.FRICTION).values_list("message", flat=True)
    )
    questions = list(
        Proposal.objects.filter(kind=Proposal.Kind.POLICY_QUESTION).values_list("title", flat=True)
    )
    for texts in (lessons, friction, questions):
        assert any(chinese(text) for text in texts), texts
        assert any(not chinese(text) for text in texts), texts
