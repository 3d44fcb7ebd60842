"""A dry run renders what it would send and sends, archives and changes nothing."""

from django.core.management import call_command

from notifications.models import Channel, OwnerReport
from notifications.services import report_enqueue
from tests.notifications.conftest import answer


def test_dry_run_prints_the_reports_and_sends_nothing(db, httpserver, make_channel, capsys):
    channel = make_channel("ops")
    answer(httpserver, channel)
    report_enqueue(
        source="self_heal.pending",
        title="Self-heal request needs approval",
        status="warning",
        team="alpha",
        worker="codex-1",
        task_id="JOB-42",
        next_step="Approve or deny in the console",
    )
    before = list(OwnerReport.objects.values_list("pk", "state", "attempts"))

    call_command("drain_reports", dry_run=True)

    out = capsys.readouterr().out
    assert "ops: would send 1" in out
    assert "[WARNING] Self-heal request needs approval" in out
    assert "team alpha · worker codex-1 · task JOB-42" in out
    assert "Next: Approve or deny in the console" in out
    assert httpserver.log == []
    assert list(OwnerReport.objects.values_list("pk", "state", "attempts")) == before
    channel.refresh_from_db()
    assert channel.lease_token == "" and channel.sent_total == 0


def test_dry_run_shows_which_duplicates_would_be_suppressed(db, httpserver, make_channel, capsys):
    make_channel("ops")
    for _ in range(2):
        report_enqueue(source="worker.error", title="worker down", dedup_key="worker.error:w1")

    call_command("drain_reports", dry_run=True)

    out = capsys.readouterr().out
    assert "would send 1, suppressed 1" in out
    assert "would be suppressed (duplicate of" in out
    assert set(OwnerReport.objects.values_list("state", flat=True)) == {"pending"}
    assert httpserver.log == []
    assert Channel.objects.get().suppressed_total == 0


def test_the_command_says_when_reports_wait_for_a_channel(db, capsys):
    report_enqueue(source="worker.error", title="nobody listens yet")

    call_command("drain_reports", dry_run=True)

    out = capsys.readouterr().out
    assert "No enabled channel" in out
    assert "1 report(s) unrouted" in out
