"""Plain schedule fires in batches: one ``triggers.fire_schedules`` message starts its
non-singleton schedule fires with one INSERT of claims and one of executions, each claim
pointing at its execution; singleton flows and fires that match nothing still go one by
one, and a batch whose commit fails is fired one by one instead, each fire once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from executions.models import Execution, ExecutionStatus, TriggerKind
from instances.lifecycle import instance_pause
from tests.fixtures.schedules import one_flow_definition
from triggers.models import ScheduleFire, ScheduleFireOutcome
from triggers.schedules.fire import SINGLETON_SKIP_ERROR, schedule_fire
from triggers.schedules.tasks import fire_schedules

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 7, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock(make_integration):
    return make_integration(one_flow_definition({"cron": "* * * * *"}))


def fire(instance, at=NOON, flow_name="Tick"):
    return [0, str(instance.pk), flow_name, at.isoformat()]


def test_each_fire_of_a_batch_has_one_execution_its_claim_points_at(clock, make_instance):
    instances = [make_instance(clock, name=f"Shop {n}") for n in range(4)]
    assert fire_schedules([fire(i) for i in instances]) == 4
    claims = list(ScheduleFire.objects.select_related("execution"))
    assert sorted(str(c.instance_id) for c in claims) == sorted(str(i.pk) for i in instances)
    for claim in claims:
        execution = claim.execution
        assert claim.outcome == ScheduleFireOutcome.STARTED
        assert execution.instance_id == claim.instance_id
        assert execution.trigger_kind == TriggerKind.SCHEDULE
        assert execution.status == ExecutionStatus.QUEUED
        assert execution.trigger_payload["scheduledTime"] == "2026-07-04T12:00:00+00:00"
        assert execution.trigger_payload["executionId"] == str(execution.pk)
    assert Execution.objects.count() == 4


def test_a_batch_costs_the_same_statements_for_five_fires_as_for_twenty_five(clock, make_instance):
    instances = [make_instance(clock, name=f"Shop {n}") for n in range(25)]
    counts = []
    for minute, group in ((0, instances[:5]), (1, instances)):
        at = NOON + timedelta(minutes=minute)
        with CaptureQueriesContext(connection) as queries:
            assert fire_schedules([fire(i, at=at) for i in group]) == len(group)
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    assert Execution.objects.count() == 30


def test_a_batch_with_fires_already_claimed_starts_only_the_others(clock, make_instance):
    first, second, third = (make_instance(clock, name=f"Shop {n}") for n in range(3))
    earlier = schedule_fire(instance_id=second.pk, flow_name="Tick", scheduled_time=NOON)
    assert fire_schedules([fire(first), fire(second), fire(third)]) == 2
    assert Execution.objects.filter(instance=second).get().pk == earlier.execution_id
    # No execution without its claim: the lost claim's execution was never written.
    assert Execution.objects.count() == ScheduleFire.objects.count() == 3
    assert fire_schedules([fire(first), fire(second), fire(third)]) == 0


def test_singleton_flows_in_a_batch_still_skip_while_busy(make_integration, make_instance):
    instance = make_instance(
        make_integration(one_flow_definition({"cron": "* * * * *"}, singleton=True))
    )
    later = NOON + timedelta(minutes=1)
    assert fire_schedules([fire(instance), fire(instance, at=later)]) == 2
    started, skipped = sorted(
        Execution.objects.all(), key=lambda e: e.trigger_payload["scheduledTime"]
    )
    assert started.status == ExecutionStatus.QUEUED
    assert (skipped.status, skipped.error) == (ExecutionStatus.CANCELED, SINGLETON_SKIP_ERROR)
    assert ScheduleFire.objects.get(scheduled_time=later).outcome == ScheduleFireOutcome.SKIPPED


def test_fires_that_match_nothing_are_ignored_beside_the_batch(clock, make_instance):
    running, paused = make_instance(clock, name="Running"), make_instance(clock, name="Paused")
    instance_pause(instance=paused)
    message = [fire(running), fire(paused), fire(running, flow_name="Gone")]
    assert fire_schedules(message) == 1
    assert list(Execution.objects.values_list("instance_id", flat=True)) == [running.pk]


REFUSE_BATCH_CLAIMS = """
CREATE TRIGGER refuse_batch_claims BEFORE INSERT ON triggers_schedulefire
WHEN NEW.message_id LIKE 'batch:%'
BEGIN SELECT RAISE(ABORT, 'disk full'); END
"""


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the fault is an SQLite trigger")
def test_a_batch_whose_commit_fails_is_fired_one_by_one(clock, make_instance):
    instances = [make_instance(clock, name=f"Shop {n}") for n in range(3)]
    with connection.cursor() as cursor:
        cursor.execute(REFUSE_BATCH_CLAIMS)
    try:
        assert fire_schedules([fire(i) for i in instances]) == 3
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER refuse_batch_claims")
    assert ScheduleFire.objects.filter(message_id__startswith="batch:").count() == 0
    assert sorted(Execution.objects.values_list("instance_id", flat=True)) == sorted(
        i.pk for i in instances
    )
    assert Execution.objects.count() == ScheduleFire.objects.count() == 3
