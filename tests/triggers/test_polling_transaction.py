"""A poll's executions, seen ids and cursor are one transaction (SPEC §8): a database
failure while they are written leaves nothing behind and moves no cursor, and the next
poll asks again; executions are enqueued only once it commits. And polls arrive through
the same Celery fire tasks as schedule fires."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection

from instances.models import PollSeenItem
from tests.fixtures.polling import FLOW, START, Poller, orders_definition
from triggers.schedules.tasks import fire_schedule, fire_schedules

pytestmark = pytest.mark.django_db

REFUSE_SEEN_IDS = """
CREATE TRIGGER refuse_seen_ids BEFORE INSERT ON instances_pollseenitem
BEGIN SELECT RAISE(ABORT, 'disk full'); END
"""


@pytest.fixture
def poller(item_source, make_integration, make_instance):
    definition = orders_definition(item_source.url("/orders"), trigger={"onDeploy": "backfill"})
    return Poller(make_instance(make_integration(definition)))


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the fault is an SQLite trigger")
def test_a_failure_while_committing_creates_nothing_and_keeps_the_cursor(item_source, poller):
    item_source.add(1)
    poller.fire()
    item_source.add(2)
    with connection.cursor() as cursor:
        cursor.execute(REFUSE_SEEN_IDS)
    try:
        with pytest.raises(DatabaseError, match="disk full"):
            poller.fire()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER refuse_seen_ids")
    state = poller.state()
    assert len(poller.executions()) == 1  # the first poll's only
    assert (state.cursor, PollSeenItem.objects.count()) == (1, 1)
    assert state.polling_since is None  # the next fire is not blocked
    poller.fire()
    assert [e.trigger_payload["body"]["data"]["id"] for e in poller.executions()] == [
        "o1",
        "o2",
        "o3",
    ]
    assert poller.state().cursor == 3


def test_executions_are_enqueued_when_the_poll_commits_in_source_order(
    item_source, poller, django_capture_on_commit_callbacks, monkeypatch
):
    sent: list[str] = []
    # The broker's one seam (executions/broker.py).
    monkeypatch.setattr(
        "executions.broker.execution_enqueue",
        lambda *, execution_id, countdown=None: sent.append(str(execution_id)),
    )
    item_source.add(3)
    with django_capture_on_commit_callbacks() as callbacks:
        poller.fire()
    executions = poller.executions()
    assert len(executions) == 3
    assert sent == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert sent == [str(e.pk) for e in executions]


def test_the_fire_tasks_poll(item_source, poller):
    item_source.add(2)
    instance_id = str(poller.instance.pk)
    assert fire_schedules([[1, instance_id, FLOW, START.isoformat()]]) == 1
    item_source.add(1)
    fire_schedule.run(instance_id, FLOW, scheduled_time="2026-07-04T12:05:00+00:00")
    assert [e.trigger_payload["body"]["data"]["id"] for e in poller.executions()] == [
        "o1",
        "o2",
        "o3",
    ]
