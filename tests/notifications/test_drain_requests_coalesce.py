"""While a drain task waits in the queue for a channel, no other is published for it."""

import pytest
from django.core.cache import cache
from django.db import transaction

from config.celery import app
from core import broker as core_broker
from notifications import drain_requests
from notifications.services import report_enqueue
from notifications.tasks import drain_channel


def queued_tasks() -> int:
    with app.connection_for_read() as connection:
        return connection.default_channel.queue_declare("celery", passive=True).message_count


@pytest.fixture
def empty_queue():
    cache.clear()
    with app.connection_for_write() as connection:
        connection.default_channel.queue_declare("celery")
        connection.default_channel.queue_purge("celery")
    yield
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge("celery")
    cache.clear()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_burst_of_commits_publishes_one_task_per_channel_until_it_starts(
    make_channel, empty_queue, httpserver
):
    ops = make_channel("ops")
    make_channel("team")
    httpserver.expect_request("/webhook/ops").respond_with_data("", status=204)
    httpserver.expect_request("/webhook/team").respond_with_data("", status=204)

    for index in range(10):
        with transaction.atomic():
            report_enqueue(source="worker.error", title=f"error {index}")

    assert queued_tasks() == 2

    drain_channel(ops.pk)  # as the worker runs the waiting task: it clears the mark first
    with transaction.atomic():
        report_enqueue(source="worker.error", title="after the drain started")

    assert queued_tasks() == 3  # a new task for ops; team's is still waiting


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_sweep_publishes_even_where_a_task_is_marked_as_waiting(make_channel, empty_queue):
    from notifications.drain import outbox_sweep

    ops = make_channel("ops")
    with transaction.atomic():
        report_enqueue(source="worker.error", title="its task was lost with the broker")
    assert queued_tasks() == 1
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge("celery")  # the task is lost; its mark is not

    assert outbox_sweep() == [ops.pk]
    assert queued_tasks() == 1


def test_a_broker_failure_clears_the_marks_so_the_next_commit_tries_again(
    db, make_channel, monkeypatch, empty_queue
):
    ops = make_channel("ops")
    core_broker.reset()

    def down(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(drain_channel, "apply_async", down)
    assert drain_requests.publish_drains([ops.pk]) is False

    monkeypatch.undo()
    core_broker.reset()
    assert drain_requests.publish_drains([ops.pk]) is True
    assert queued_tasks() == 1


def test_while_publishing_is_paused_the_marks_are_not_touched(
    db, make_channel, monkeypatch, empty_queue, request
):
    ops = make_channel("ops")
    core_broker.reset()
    request.addfinalizer(core_broker.reset)  # the pause is per process

    def down(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(drain_channel, "apply_async", down)
    assert drain_requests.publish_drains([ops.pk]) is False
    monkeypatch.undo()

    def no_cache(*args, **kwargs):
        raise AssertionError("the cache was asked while publishing is paused")

    monkeypatch.setattr(drain_requests.cache, "add", no_cache)
    assert drain_requests.publish_drains([ops.pk]) is False
