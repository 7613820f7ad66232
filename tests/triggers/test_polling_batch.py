"""Polling fires in batches (SPEC §8 at scale): one ``triggers.fire_schedules`` message
carrying many polling fires claims them together, asks their sources side by side and
commits each answer on its own terms — every item one execution in source order, a
duplicate message starts nothing, overlapping and backing-off fires are skipped and
counted, and one poll's failure (its source, or its commit) stays its own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from executions.models import Execution, ExecutionStatus, TriggerKind
from instances.models import PollSeenItem, PollState
from tests.fixtures.polling import FLOW, START, Poller, closed_port_url, orders_definition
from triggers.models import ScheduleFire, ScheduleFireOutcome
from triggers.schedules.tasks import fire_schedules

pytestmark = pytest.mark.django_db

SCHEDULED = {
    "name": "Nightly",
    "flows": [
        {
            "name": "Tick",
            "trigger": {"type": "schedule", "schedule": {"every": 5, "unit": "minutes"}},
            "steps": [{"name": "Log", "action": "log.write", "inputs": {"message": "tick"}}],
        }
    ],
}


@pytest.fixture
def pollers(item_source, make_integration, make_instance):
    """Three instances of one backfilling polling integration."""
    integration = make_integration(
        orders_definition(item_source.url("/orders"), trigger={"onDeploy": "backfill"})
    )
    return [Poller(make_instance(integration, name=f"Shop {n}")) for n in range(3)]


def fire(instance, flow_name=FLOW, at=START):
    return [0, str(instance.pk), flow_name, at.isoformat()]


def ids_of(poller: Poller) -> list[str]:
    return [e.trigger_payload["body"]["data"]["id"] for e in poller.executions()]


def test_one_message_polls_every_instance_once_beside_its_schedule_fires(
    item_source, pollers, make_integration, make_instance
):
    scheduled = make_instance(make_integration(SCHEDULED), name="Clock")
    item_source.add(2)
    message = [fire(p.instance) for p in pollers] + [fire(scheduled, "Tick")]
    assert fire_schedules(message) == 4
    for poller in pollers:
        assert ids_of(poller) == ["o1", "o2"]
        assert {e.trigger_kind for e in poller.executions()} == {TriggerKind.POLL}
        claim = ScheduleFire.objects.get(instance=poller.instance)
        assert claim.outcome == ScheduleFireOutcome.STARTED
        assert claim.execution_id == poller.executions()[0].pk
        assert (poller.state().cursor, poller.state().polling_since) == (2, None)
    assert Execution.objects.get(instance=scheduled).trigger_kind == TriggerKind.SCHEDULE
    assert len(item_source.requests) == 3

    # The same message delivered again: every fire is claimed, nothing is asked or started.
    item_source.add(1)
    assert fire_schedules(message) == 0
    assert len(item_source.requests) == 3
    assert Execution.objects.count() == 7

    # The next slot polls again and finds only the new item, in every instance.
    later = [fire(p.instance, at=START + timedelta(minutes=5)) for p in pollers]
    assert fire_schedules(later) == 3
    assert [ids_of(p) for p in pollers] == [["o1", "o2", "o3"]] * 3


def test_two_fires_of_one_flow_in_one_message_poll_once(item_source, pollers):
    poller = pollers[0]
    item_source.add(1)
    message = [fire(poller.instance), fire(poller.instance, at=START + timedelta(minutes=5))]
    assert fire_schedules(message) == 2
    assert len(item_source.requests) == 1
    assert ids_of(poller) == ["o1"]
    outcomes = ScheduleFire.objects.order_by("scheduled_time").values_list("outcome", flat=True)
    assert list(outcomes) == [ScheduleFireOutcome.STARTED, ScheduleFireOutcome.SKIPPED]
    assert poller.state().skipped_overlapping == 1


def test_held_and_backing_off_flows_are_skipped_and_counted_the_rest_poll(item_source, pollers):
    held, backing_off, free = pollers
    for poller in pollers:
        poller.fire()  # creates each state; nothing to read yet
    PollState.objects.filter(instance=held.instance).update(polling_since=timezone.now())
    PollState.objects.filter(instance=backing_off.instance).update(
        consecutive_failures=3, backoff_until=START + timedelta(hours=1)
    )
    item_source.add(2)
    requests_before = len(item_source.requests)
    at = START + timedelta(minutes=5)
    assert fire_schedules([fire(p.instance, at=at) for p in pollers]) == 3
    assert len(item_source.requests) == requests_before + 1
    assert (ids_of(held), ids_of(backing_off), ids_of(free)) == ([], [], ["o1", "o2"])
    assert held.state().skipped_overlapping == 1
    assert backing_off.state().skipped_backing_off == 1
    skipped = ScheduleFire.objects.filter(scheduled_time=at, outcome=ScheduleFireOutcome.SKIPPED)
    assert {claim.instance_id for claim in skipped} == {held.instance.pk, backing_off.instance.pk}


def test_a_failing_source_fails_only_its_own_poll(
    item_source, pollers, make_integration, make_instance
):
    unused_port_url = closed_port_url()
    dead = Poller(
        make_instance(
            make_integration(orders_definition(unused_port_url, name="Dead Shop")), name="Dead"
        )
    )
    item_source.add(2)
    assert fire_schedules([fire(dead.instance)] + [fire(p.instance) for p in pollers]) == 4
    (failed,) = dead.executions()
    assert failed.status == ExecutionStatus.FAILED
    assert failed.error.startswith(f"GET {unused_port_url} failed: ")
    assert dead.state().consecutive_failures == 1
    assert [ids_of(p) for p in pollers] == [["o1", "o2"]] * 3


REFUSE_ONE_STATE = """
CREATE TRIGGER refuse_one_state BEFORE INSERT ON instances_pollseenitem
WHEN NEW.state_id = {state_id}
BEGIN SELECT RAISE(ABORT, 'disk full'); END
"""


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the fault is an SQLite trigger")
def test_a_poll_whose_commit_fails_loses_only_itself_and_frees_its_claim(item_source, pollers):
    broken, *healthy = pollers
    for poller in pollers:
        poller.fire()  # creates each state
    cursor_before = broken.state().cursor
    with connection.cursor() as cursor:
        cursor.execute(REFUSE_ONE_STATE.format(state_id=broken.state().pk))
    item_source.add(2)
    try:
        at = START + timedelta(minutes=5)
        assert fire_schedules([fire(p.instance, at=at) for p in pollers]) == 3
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER refuse_one_state")
    assert ids_of(broken) == []
    assert (broken.state().cursor, broken.state().polling_since) == (cursor_before, None)
    assert PollSeenItem.objects.filter(state__instance=broken.instance).count() == 0
    assert [ids_of(p) for p in healthy] == [["o1", "o2"]] * 2
    # Its next fire asks again from where it was and starts the items once.
    assert fire_schedules([fire(broken.instance, at=START + timedelta(minutes=10))]) == 1
    assert ids_of(broken) == ["o1", "o2"]
