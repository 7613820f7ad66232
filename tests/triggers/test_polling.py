"""Polling triggers (SPEC §8) against a real paginated source on loopback: every new item
starts exactly one execution, in the source's order; onDeploy; dedupe; batches; both
cursor forms; the seen-ids window; poll state across redeploys and on remove."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from executions.models import ExecutionStatus, TriggerKind
from instances.lifecycle import instance_deploy, instance_pause, instance_remove
from instances.models import PollSeenItem, PollState
from integrations.definitions import integration_import
from tests.fixtures.polling import FLOW, Poller, orders_definition
from triggers.models import ScheduleFireOutcome
from triggers.schedules.periodic_tasks import instance_periodic_tasks
from triggers.schedules.poll import SEEN_IDS_KEPT, poll_fire

pytestmark = pytest.mark.django_db


@pytest.fixture
def backfilling(item_source, make_integration, make_instance):
    definition = orders_definition(item_source.url("/orders"), trigger={"onDeploy": "backfill"})
    return Poller(make_instance(make_integration(definition)))


def data_of(poller: Poller) -> list:
    return [e.trigger_payload["body"]["data"] for e in poller.executions()]


def test_deploy_creates_one_fire_task_and_no_endpoint(item_source, make_integration, make_instance):
    instance = make_instance(make_integration(orders_definition(item_source.url("/orders"))))
    flow = instance.integration.flows.get()
    assert flow.is_polling and not flow.is_webhook
    assert list(instance_periodic_tasks(instance.pk)) == [FLOW]
    assert not instance.endpoints.exists()


def test_every_new_item_starts_one_execution_in_source_order(item_source, backfilling):
    item_source.add(2)
    backfilling.fire()
    item_source.add(4)  # the list grows between polls; pages are 3 long
    backfilling.fire()
    backfilling.fire()
    backfilling.fire()  # nothing new: no execution
    assert [item["id"] for item in data_of(backfilling)] == ["o1", "o2", "o3", "o4", "o5", "o6"]
    executions = backfilling.executions()
    assert {e.trigger_kind for e in executions} == {TriggerKind.POLL}
    assert {e.status for e in executions} == {ExecutionStatus.QUEUED}
    # The cursor of each poll travelled with its query: since=<where the last one ended>.
    assert [q.get("since") for q in item_source.requests] == [None, ["2"], ["5"], ["6"]]
    state = backfilling.state()
    assert state.cursor == 6
    assert state.last_item_count == 0


def test_the_poll_payload_says_where_the_poll_started_and_ended(item_source, backfilling):
    item_source.add(2)
    backfilling.fire()
    item_source.add(1)
    backfilling.fire()
    last = backfilling.executions()[-1].trigger_payload
    assert last["body"]["data"]["id"] == "o3"
    poll = last["poll"]
    assert (poll["cursor"], poll["previousCursor"], poll["itemCount"]) == (3, 2, 1)
    assert poll["polledAt"] == backfilling.state().last_polled_at.isoformat()
    assert last["instance"]["id"] == str(backfilling.instance.pk)


def test_skip_on_deploy_records_the_first_poll_and_starts_nothing(
    item_source, make_integration, make_instance
):
    poller = Poller(make_instance(make_integration(orders_definition(item_source.url("/orders")))))
    item_source.add(3)
    claim = poller.fire()
    assert claim is not None and claim.outcome == ScheduleFireOutcome.STARTED
    assert poller.executions() == []
    state = poller.state()
    assert (state.cursor, state.last_item_count, state.primed) == (3, 3, True)
    assert state.seen_items.count() == 3
    item_source.add(1)
    poller.fire()
    assert [item["id"] for item in data_of(poller)] == ["o4"]


def test_an_item_seen_before_starts_nothing_even_when_the_source_repeats_it(
    item_source, make_integration, make_instance
):
    # No cursor at all: the source answers its whole list each time, ids alone dedupe.
    definition = orders_definition(
        item_source.url("/changes"),
        trigger={"onDeploy": "backfill"},
        itemsPath="",
        cursorPath=None,
        queryParameters={"limit": 100},
    )
    poller = Poller(make_instance(make_integration(definition)))
    item_source.add(2)
    poller.fire()
    poller.fire()
    item_source.add(1)
    poller.fire()
    assert [item["id"] for item in data_of(poller)] == ["o1", "o2", "o3"]
    assert poller.state().cursor is None


def test_the_same_id_twice_in_one_answer_runs_once(item_source, backfilling):
    item_source.add(2)
    item_source.items.append(dict(item_source.items[0]))
    backfilling.fire()
    assert [item["id"] for item in data_of(backfilling)] == ["o1", "o2"]


def test_batches_carry_lists_of_up_to_batch_size_in_source_order(
    item_source, make_integration, make_instance
):
    definition = orders_definition(
        item_source.url("/orders"),
        trigger={"onDeploy": "backfill", "batchSize": 2},
        queryParameters={"since": "{{ poll.cursor }}", "limit": 5},
    )
    poller = Poller(make_instance(make_integration(definition)))
    item_source.add(5)
    poller.fire()
    batches = [[item["id"] for item in data] for data in data_of(poller)]
    assert batches == [["o1", "o2"], ["o3", "o4"], ["o5"]]
    assert {e.trigger_payload["poll"]["itemCount"] for e in poller.executions()} == {5}


def test_cursor_item_field_takes_the_largest_value_among_the_items(
    item_source, make_integration, make_instance
):
    definition = orders_definition(
        item_source.url("/changes"),
        trigger={"onDeploy": "backfill"},
        itemsPath="",
        cursorPath=None,
        cursorItemField="n",
        queryParameters={"updatedAfter": "{{ poll.cursor }}", "limit": 2},
    )
    poller = Poller(make_instance(make_integration(definition)))
    item_source.add(3)
    poller.fire()
    assert poller.state().cursor == 2
    poller.fire()
    assert poller.state().cursor == 3
    poller.fire()  # no items: the cursor stays
    assert poller.state().cursor == 3
    assert [q.get("updatedAfter") for q in item_source.requests] == [None, ["2"], ["3"]]
    assert [item["id"] for item in data_of(poller)] == ["o1", "o2", "o3"]


def test_a_fire_while_a_poll_runs_is_skipped_and_counted(item_source, backfilling):
    item_source.add(1)
    state = PollState.objects.create(
        instance=backfilling.instance, flow_name=FLOW, polling_since=timezone.now()
    )
    claim = backfilling.fire()
    assert claim is not None and claim.outcome == ScheduleFireOutcome.SKIPPED
    assert item_source.requests == [] and backfilling.executions() == []
    state.refresh_from_db()
    assert state.skipped_overlapping == 1
    # A claim left by a worker that died long ago does not block the flow for ever.
    PollState.objects.filter(pk=state.pk).update(polling_since=timezone.now() - timedelta(hours=1))
    backfilling.fire()
    assert len(backfilling.executions()) == 1


def test_a_duplicate_fire_polls_once(item_source, backfilling):
    item_source.add(1)
    backfilling.fire()
    backfilling.fires -= 1  # the same slot again, as a redelivered message would
    assert backfilling.fire() is None
    assert len(item_source.requests) == 1


def test_seen_ids_are_kept_for_30_days_or_the_last_10000(item_source, backfilling):
    item_source.add(1)
    backfilling.fire()
    state = backfilling.state()
    old = timezone.now() - timedelta(days=40)
    PollSeenItem.objects.bulk_create(
        PollSeenItem(state=state, item_id=f"old-{n}", seen_at=old - timedelta(seconds=n))
        for n in range(SEEN_IDS_KEPT)
    )
    item_source.add(1)
    backfilling.fire()
    # Two ids fall outside the newest 10,000 and are past 30 days: those are forgotten.
    assert state.seen_items.count() == SEEN_IDS_KEPT
    assert not state.seen_items.filter(item_id__in=["old-9998", "old-9999"]).exists()
    assert state.seen_items.filter(item_id__in=["old-0", "o1", "o2"]).count() == 3
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        item_source.add(1)
        backfilling.fire()
    # Every id but the newest is past 30 days now: the newest 10,000 stay, which
    # still holds o1 and o2 (an id inside either window starts nothing).
    assert state.seen_items.count() == SEEN_IDS_KEPT
    assert state.seen_items.filter(item_id__in=["o1", "o2", "o3"]).count() == 3


def test_poll_state_is_kept_across_redeploys_and_removed_with_the_instance(
    item_source, backfilling
):
    item_source.add(2)
    backfilling.fire()
    instance = backfilling.instance
    definition = orders_definition(item_source.url("/orders"), trigger={"onDeploy": "backfill"})
    definition["description"] = "v2"
    new_version = integration_import(definition=definition)
    instance.integration = new_version
    instance.save(update_fields=["integration"])
    instance_deploy(instance=instance)
    item_source.add(1)
    backfilling.fire()
    assert [item["id"] for item in data_of(backfilling)] == ["o1", "o2", "o3"]
    assert backfilling.state().cursor == 3
    instance_remove(instance=instance)
    assert not PollState.objects.filter(instance=instance).exists()
    assert not PollSeenItem.objects.exists()


def test_poll_fire_called_directly_answers_what_it_did(item_source, backfilling):
    item_source.add(2)
    instance = backfilling.instance
    flow = instance.integration.flows.get()
    outcome = poll_fire(instance=instance, flow=flow, scheduled_time=timezone.now())
    assert outcome.status == "succeeded" and outcome.item_count == 2
    assert sorted(outcome.executions) == sorted(e.pk for e in backfilling.executions())


def test_a_config_variable_schedule_polls_and_a_paused_instance_does_not(
    item_source, make_integration, make_instance
):
    definition = orders_definition(
        item_source.url("/orders"), trigger={"schedule": {"configVar": "Poll Schedule"}}
    )
    definition["configVariables"] = [
        {
            "key": "Poll Schedule",
            "type": "schedule",
            "default": {"scheduleType": "minute", "value": "*/5 * * * *", "timeZone": "UTC"},
        }
    ]
    poller = Poller(make_instance(make_integration(definition)))
    task = instance_periodic_tasks(poller.instance.pk)[FLOW]
    assert task.crontab is not None and task.crontab.minute == "*/5"
    claim = poller.fire()
    assert claim is not None and len(item_source.requests) == 1
    instance_pause(instance=poller.instance)
    assert poller.fire() is None
    assert len(item_source.requests) == 1
