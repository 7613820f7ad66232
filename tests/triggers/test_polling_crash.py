"""A worker killed in the middle of a poll (SPEC §8: one transaction) loses no item and
runs none twice, through real processes: a Celery worker subprocess runs the fire task of
a polling flow against a loopback source and is killed with SIGKILL

* before the commit — while the source holds its answer: nothing is written, the cursor
  stays, and once the dead poll's claim expires the next fire asks again;
* after the commit, before the executions are enqueued (the worker pauses there through
  poll.py's test hook): the rows are queued but their messages were never sent; the
  recovery sweep sends them, and the next fire does not start them again.

Afterwards every source item has exactly one execution, which succeeds, and the cursor
and the seen ids agree with the executions.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from executions.models import Execution, ExecutionStatus
from executions.recovery import executions_requeue_stale
from instances.models import PollSeenItem
from tests.fixtures.poll_source import ItemSource
from tests.fixtures.polling import FLOW, START, Poller, orders_definition
from tests.fixtures.worker import WorkerProcess, queue_drop, wait_for_execution, worker_start
from triggers.models import ScheduleFire, ScheduleFireOutcome
from triggers.schedules.poll import POLL_CLAIM_EXPIRY, TEST_HOOK_PAUSE_AFTER_COMMIT_VARIABLE
from triggers.schedules.tasks import fire_schedule

pytestmark = pytest.mark.django_db(transaction=True)

WAIT_SECONDS = 20.0


class HeldItemSource(ItemSource):
    """The item source, but each answer waits until the test releases it: a slow peer
    the poll is stuck on, at a point the test knows."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = threading.Event()
        self.released = threading.Event()

    def _answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, bytes]:
        self.asked.set()
        self.released.wait(WAIT_SECONDS)
        return super()._answer(path, query)


@pytest.fixture
def held_source() -> Iterator[HeldItemSource]:
    source = HeldItemSource()
    source.start()
    try:
        yield source
    finally:
        source.released.set()
        source.stop()


@pytest.fixture
def doomed_queue(celery_session_queue: str) -> Iterator[str]:
    """A queue only the worker to be killed consumes: the session's worker (which runs the
    executions afterwards) never takes the fire from it."""
    queue = f"{celery_session_queue}-poll-doomed"
    yield queue
    queue_drop(queue)  # a redelivery of the killed fire (late acks) nobody is left to take


def wait_until(condition: Callable[[], Any], *, what: str) -> Any:
    # The event happens in another process, which offers no callback.
    deadline = time.monotonic() + WAIT_SECONDS
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out waiting for {what}")
        time.sleep(0.02)
    return value


def kill(worker: WorkerProcess) -> None:
    os.kill(worker.process.pid, signal.SIGKILL)  # no warm shutdown, no on_commit left to run
    worker.process.wait(timeout=10)
    worker.stop()


def fire_on(queue: str, poller: Poller, minutes: int) -> None:
    moment = START + timedelta(minutes=minutes)
    fire_schedule.apply_async(
        args=[str(poller.instance.pk), FLOW],
        kwargs={"scheduled_time": moment.isoformat()},
        queue=queue,
    )


def assert_each_item_ran_once(poller: Poller, source: ItemSource) -> None:
    executions = [wait_for_execution(e.pk, timeout=WAIT_SECONDS) for e in poller.executions()]
    ids = [e.trigger_payload["body"]["data"]["id"] for e in executions]
    assert ids == [item["id"] for item in source.items]  # each once, in the source's order
    assert {e.status for e in executions} == {ExecutionStatus.SUCCEEDED}
    state = poller.state()
    assert state.cursor == len(source.items)
    seen = set(PollSeenItem.objects.filter(state=state).values_list("item_id", flat=True))
    assert seen == set(ids)
    assert state.polling_since is None


@pytest.fixture
def poller(make_integration, make_instance) -> Callable[[ItemSource], Poller]:
    def make(source: ItemSource) -> Poller:
        definition = orders_definition(source.url("/orders"), trigger={"onDeploy": "backfill"})
        return Poller(make_instance(make_integration(definition)))

    return make


def test_a_worker_killed_while_the_source_answers_writes_nothing_and_the_next_poll_asks_again(
    held_source, poller, doomed_queue, celery_session_queue, celery_worker_process
):
    polls = poller(held_source)
    held_source.add(3)
    doomed = worker_start(queue=doomed_queue, name=doomed_queue, send_to=celery_session_queue)
    try:
        fire_on(doomed_queue, polls, minutes=0)
        assert held_source.asked.wait(WAIT_SECONDS), "the worker never asked the source"
        kill(doomed)
    finally:
        doomed.stop()
    held_source.released.set()

    # Before the commit: nothing of the poll was written, only its claims.
    state = polls.state()
    assert (state.cursor, state.primed, state.last_polled_at) == (None, False, None)
    assert not PollSeenItem.objects.filter(state=state).exists()
    assert not Execution.objects.filter(instance=polls.instance).exists()
    assert ScheduleFire.objects.get(instance=polls.instance).outcome == ScheduleFireOutcome.STARTED
    assert state.polling_since is not None  # held by the dead poll

    # A fire while the dead poll's claim is young is skipped as overlapping…
    polls.fires = 1
    polls.fire()
    assert polls.state().skipped_overlapping == 1
    assert not Execution.objects.filter(instance=polls.instance).exists()
    # …and the first fire after it expires asks again from the same cursor.
    held_source.add(2)
    with time_machine.travel(timezone.now() + POLL_CLAIM_EXPIRY + timedelta(seconds=1)):
        polls.fire()
        assert held_source.requests[-1].get("since") is None  # the cursor had not moved
        polls.fire()  # pages are 3 long: the rest
    assert_each_item_ran_once(polls, held_source)


def test_a_worker_killed_after_the_commit_leaves_queued_runs_the_sweep_sends(
    settings, item_source, poller, doomed_queue, celery_session_queue, celery_worker_process
):
    polls = poller(item_source)
    item_source.add(3)
    doomed = worker_start(
        queue=doomed_queue,
        name=doomed_queue,
        send_to=celery_session_queue,
        env={TEST_HOOK_PAUSE_AFTER_COMMIT_VARIABLE: str(WAIT_SECONDS)},
    )
    try:
        fire_on(doomed_queue, polls, minutes=0)
        # The commit is visible here while the worker sleeps before enqueueing.
        wait_until(lambda: len(polls.executions()) == 3, what="the poll to commit")
        kill(doomed)
    finally:
        doomed.stop()

    # After the commit: cursor, seen ids and executions together; no message was sent.
    state = polls.state()
    assert (state.cursor, state.polling_since) == (3, None)
    assert PollSeenItem.objects.filter(state=state).count() == 3
    stranded = polls.executions()
    time.sleep(0.5)  # time the session's worker would need to run a sent message
    assert {e.status for e in Execution.objects.filter(pk__in=[e.pk for e in stranded])} == {
        ExecutionStatus.QUEUED
    }

    # The next fire starts only the items that are new since the commit.
    item_source.add(2)
    polls.fires = 1
    polls.fire()
    assert len(polls.executions()) == 5
    assert item_source.requests[-1]["since"] == ["3"]

    # The recovery sweep (beat's, every few seconds) re-sends rows queued for longer
    # than TRIGGERFISH_REQUEUE_AFTER_SECONDS.
    settings.TRIGGERFISH_REQUEUE_AFTER_SECONDS = 1
    wait_until(
        lambda: all(e.created_at < timezone.now() - timedelta(seconds=1) for e in stranded),
        what="the stranded rows to be older than the requeue delay",
    )
    assert executions_requeue_stale() == 3
    assert_each_item_ran_once(polls, item_source)
