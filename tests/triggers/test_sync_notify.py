"""Waiting for a run's finish (executions.notify): woken by the runner's announcement, one
database query per wait, only a persistent connection kept through it, nothing lost when
the finish comes first."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import redis
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from executions.models import Execution
from executions.notify import execution_finish_wait, execution_finished_notify
from executions.runner import _finish, execution_run
from integrations.models import Flow
from tests.fixtures.executions import execution_make
from triggers.sync.wait import sync_respond

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["marker", "redis"])
def notify_mode(request: pytest.FixtureRequest, settings) -> Iterator[str]:
    if request.param == "redis":
        settings.REDIS_URL = request.getfixturevalue("require_redis")
    else:
        settings.REDIS_URL = ""
    yield request.param


def finish_later(execution_id, delay: float) -> threading.Thread:
    """What the runner does at the end, from another thread after ``delay``."""

    def finish() -> None:
        time.sleep(delay)
        Execution.objects.filter(pk=execution_id).update(status="succeeded")
        execution_finished_notify(execution_id=execution_id)
        connections.close_all()

    thread = threading.Thread(target=finish)
    thread.start()
    return thread


def test_the_waiter_wakes_on_the_finish_with_one_query(notify_mode):
    execution = execution_make(steps=[])
    thread = finish_later(execution.pk, 0.3)
    started = time.monotonic()
    with CaptureQueriesContext(connection) as queries:
        finished = execution_finish_wait(execution_id=execution.pk, timeout=10)
    elapsed = time.monotonic() - started
    thread.join()
    assert finished is not None
    assert 0.25 <= elapsed < 5.0  # woken by the announcement, long before the 10 s timeout
    assert len(queries) == 1  # the one check before waiting: no polling of the database


@pytest.mark.parametrize("max_age", [0, 60])
def test_only_a_persistent_connection_is_kept_through_the_wait(notify_mode, max_age, monkeypatch):
    # CONN_MAX_AGE 0: the request would close it at its end anyway, so it goes back before
    # the wait. Persistent: the thread keeps it either way; a reconnect would only cost time.
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", max_age)
    execution = execution_make(steps=[])
    thread = finish_later(execution.pk, 0.1)
    assert execution_finish_wait(execution_id=execution.pk, timeout=10) is not None
    thread.join()
    assert (connection.connection is not None) is bool(max_age)


def test_a_finish_before_the_wait_is_not_lost(notify_mode):
    execution = execution_make(steps=[])
    Execution.objects.filter(pk=execution.pk).update(status="failed")
    execution_finished_notify(execution_id=execution.pk)
    started = time.monotonic()
    assert execution_finish_wait(execution_id=execution.pk, timeout=5) is not None
    assert time.monotonic() - started < 1.0


def test_a_finish_without_announcement_is_seen_in_the_row(notify_mode):
    # Recovery marking a lost run failed, or an admin cancel: no runner to announce it.
    execution = execution_make(steps=[])
    Execution.objects.filter(pk=execution.pk).update(status="canceled")
    assert execution_finish_wait(execution_id=execution.pk, timeout=5) is not None


def test_the_wait_ends_at_the_timeout(notify_mode):
    execution = execution_make(steps=[])
    started = time.monotonic()
    assert execution_finish_wait(execution_id=execution.pk, timeout=0.3) is None
    assert 0.3 <= time.monotonic() - started < 3.0


def test_another_executions_finish_does_not_wake_the_waiter(notify_mode):
    mine = execution_make(steps=[])
    other = execution_make(steps=[])
    thread = finish_later(other.pk, 0.05)
    assert execution_finish_wait(execution_id=mine.pk, timeout=0.4) is None
    thread.join()


# A synchronous run's announcement carries its outcome (Redis) --------------------------


def run_and_announce_later(execution_id, delay: float) -> threading.Thread:
    """What the worker does for a synchronous execution: run it, commit, announce."""

    def work() -> None:
        time.sleep(delay)
        execution_run(execution_id=str(execution_id))
        connections.close_all()

    thread = threading.Thread(target=work)
    thread.start()
    return thread


@pytest.mark.parametrize("announced", [True, False])
def test_a_sync_answer_comes_from_the_announced_outcome_without_reading_the_row(
    settings, require_redis, announced, monkeypatch
):
    settings.REDIS_URL = require_redis
    if not announced:  # as a runner that only says "finished" (an older one, or a file result)
        monkeypatch.setattr("executions.runner._sync_outcome", lambda *args: None)
    execution = execution_make(steps=[("Reply", "flow.return", {"data": {"n": 7}})])
    Execution.objects.filter(pk=execution.pk).update(synchronous=True)
    flow = Flow.objects.get(pk=execution.flow_id)
    thread = run_and_announce_later(execution.pk, 0.2)
    with CaptureQueriesContext(connection) as queries:
        response = sync_respond(execution_id=execution.pk, flow=flow, prefer_direct=True)
    thread.join()
    assert response.status_code == 200
    assert response.content == b'{"n": 7}'
    assert response["triggerfish-executionid"] == str(execution.pk)
    # The check before waiting; and, without an announced outcome, the read after it.
    assert len(queries) == (1 if announced else 2)


def test_a_run_finished_by_someone_else_is_announced_without_an_outcome(settings, require_redis):
    """The runner's final update applies only to a row still running; when the row was
    canceled meanwhile, the announcement must not claim the run's own outcome."""
    settings.REDIS_URL = require_redis
    execution = execution_make(steps=[])
    Execution.objects.filter(pk=execution.pk).update(synchronous=True, status="canceled")
    pubsub = redis.Redis.from_url(require_redis).pubsub()
    pubsub.subscribe(f"triggerfish:execution:{execution.pk}")
    try:
        confirmed = pubsub.get_message(timeout=5)  # subscribed before anything is published
        assert confirmed is not None and confirmed["type"] == "subscribe"
        _finish(
            execution.pk,
            "succeeded",
            "",
            outcome={"status": "succeeded", "error": "", "flowId": "x", "step": None},
        )
        message = pubsub.get_message(timeout=5)
        while message is not None and message["type"] != "message":
            message = pubsub.get_message(timeout=5)
    finally:
        pubsub.close()
    assert message is not None and message["data"] == b"finished"
    assert Execution.objects.get(pk=execution.pk).status == "canceled"
