"""Firing a schedule: the execution it starts, idempotency by claim, singleton skips, and
fires sent by django-celery-beat's stock scheduler."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from config.celery import app
from executions.models import Execution, ExecutionStatus, TriggerKind
from instances.lifecycle import instance_pause, instance_remove
from tests.fixtures.schedules import one_flow_definition
from triggers.models import ScheduleFire, ScheduleFireOutcome
from triggers.schedules.fire import SINGLETON_SKIP_ERROR, schedule_fire
from triggers.schedules.index import schedule_latest_due
from triggers.schedules.periodic_tasks import instance_periodic_tasks
from triggers.schedules.tasks import fire_schedule, fire_schedules

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 7, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def ticker(make_integration, make_instance):
    return make_instance(make_integration(one_flow_definition({"cron": "* * * * *"})))


def test_fire_starts_a_schedule_execution_with_the_times(ticker):
    with time_machine.travel(datetime(2026, 7, 4, 12, 0, 1, tzinfo=UTC), tick=False):
        claim = schedule_fire(instance_id=ticker.pk, flow_name="Tick", scheduled_time=NOON)
    execution = claim.execution
    assert claim.outcome == ScheduleFireOutcome.STARTED
    assert execution.trigger_kind == TriggerKind.SCHEDULE
    assert execution.status == ExecutionStatus.QUEUED
    payload = execution.trigger_payload
    assert payload["scheduledTime"] == "2026-07-04T12:00:00+00:00"
    assert payload["invokedAt"] == "2026-07-04T12:00:01+00:00"
    assert payload["instance"]["id"] == str(ticker.pk)
    assert payload["flow"]["name"] == "Tick"


def test_a_duplicate_fire_starts_nothing(ticker):
    assert schedule_fire(instance_id=ticker.pk, flow_name="Tick", scheduled_time=NOON)
    assert schedule_fire(instance_id=ticker.pk, flow_name="Tick", scheduled_time=NOON) is None
    assert Execution.objects.filter(instance=ticker).count() == 1
    assert ScheduleFire.objects.count() == 1


def test_the_batch_task_fans_out_and_is_idempotent(ticker, make_integration, make_instance):
    other = make_instance(
        make_integration(one_flow_definition({"every": 5, "unit": "minutes"}, name="Other")),
        name="Second",
    )
    fires = [
        [1, str(ticker.pk), "Tick", "2026-07-04T12:00:00+00:00"],
        [2, str(other.pk), "Tick", "2026-07-04T12:00:00+00:00"],
        [1, str(ticker.pk), "Tick", "2026-07-04T12:01:00+00:00"],
    ]
    assert fire_schedules.run(fires) == 3
    assert fire_schedules.run(fires) == 0  # redelivered: every fire already claimed
    assert Execution.objects.filter(trigger_kind=TriggerKind.SCHEDULE).count() == 3


def test_paused_removed_or_unknown_instances_do_not_fire(ticker):
    instance_pause(instance=ticker)
    assert schedule_fire(instance_id=ticker.pk, flow_name="Tick", scheduled_time=NOON) is None
    assert schedule_fire(instance_id=ticker.pk, flow_name="Nope", scheduled_time=NOON) is None
    instance_remove(instance=ticker)
    assert schedule_fire(instance_id=ticker.pk, flow_name="Tick", scheduled_time=NOON) is None
    assert not Execution.objects.filter(trigger_kind=TriggerKind.SCHEDULE).exists()


def test_singleton_skips_while_the_previous_run_is_going_and_records_it(
    make_integration, make_instance
):
    instance = make_instance(
        make_integration(one_flow_definition({"cron": "* * * * *"}, singleton=True))
    )
    first = schedule_fire(instance_id=instance.pk, flow_name="Tick", scheduled_time=NOON)
    assert first.outcome == ScheduleFireOutcome.STARTED
    Execution.objects.filter(pk=first.execution_id).update(status=ExecutionStatus.RUNNING)

    second = schedule_fire(
        instance_id=instance.pk,
        flow_name="Tick",
        scheduled_time=datetime(2026, 7, 4, 12, 1, tzinfo=UTC),
    )
    assert second.outcome == ScheduleFireOutcome.SKIPPED
    skipped = Execution.objects.get(pk=second.execution_id)
    assert skipped.status == ExecutionStatus.CANCELED
    assert skipped.error == SINGLETON_SKIP_ERROR
    assert skipped.trigger_payload["scheduledTime"] == "2026-07-04T12:01:00+00:00"

    Execution.objects.filter(pk=first.execution_id).update(status=ExecutionStatus.SUCCEEDED)
    third = schedule_fire(
        instance_id=instance.pk,
        flow_name="Tick",
        scheduled_time=datetime(2026, 7, 4, 12, 2, tzinfo=UTC),
    )
    assert third.outcome == ScheduleFireOutcome.STARTED


def test_non_singleton_flows_overlap(ticker):
    first = schedule_fire(instance_id=ticker.pk, flow_name="Tick", scheduled_time=NOON)
    Execution.objects.filter(pk=first.execution_id).update(status=ExecutionStatus.RUNNING)
    second = schedule_fire(
        instance_id=ticker.pk,
        flow_name="Tick",
        scheduled_time=datetime(2026, 7, 4, 12, 1, tzinfo=UTC),
    )
    assert second.outcome == ScheduleFireOutcome.STARTED


def test_stock_scheduler_fire_gets_its_cron_time_and_dedupes_by_message_id(
    make_integration, make_instance
):
    instance = make_instance(make_integration(one_flow_definition({"cron": "*/5 * * * *"})))
    kwargs = {"instance_id": str(instance.pk), "flow_name": "Tick"}
    with time_machine.travel(datetime(2026, 7, 4, 12, 5, 2, tzinfo=UTC), tick=False):
        fire_schedule.apply(kwargs=kwargs, task_id="message-1")
        fire_schedule.apply(kwargs=kwargs, task_id="message-1")  # redelivered
    execution = Execution.objects.get(instance=instance)
    assert execution.trigger_payload["scheduledTime"] == "2026-07-04T12:05:00+00:00"


def test_stock_database_scheduler_reads_the_rows(make_integration, make_instance, monkeypatch):
    # It closes "obsolete" connections, which inside a test's transaction means the
    # test's own connection.
    monkeypatch.setattr("django_celery_beat.schedulers.close_old_connections", lambda: None)
    instance = make_instance(
        make_integration(
            one_flow_definition({"cron": "*/5 * * * *", "timeZone": "America/Chicago"})
        )
    )
    task = instance_periodic_tasks(instance.pk)["Tick"]
    scheduler = DatabaseScheduler(app=app)
    entry = scheduler.schedule[task.name]
    assert entry.task == "triggers.fire_schedule"
    assert entry.kwargs == {"instance_id": str(instance.pk), "flow_name": "Tick"}
    assert str(entry.schedule.tz) == "America/Chicago"
    assert PeriodicTask.objects.get(pk=task.pk).enabled


@pytest.mark.parametrize(
    ("schedule", "after", "now", "expected"),
    [
        (
            {"cron": "* * * * *"},
            "2026-07-04T11:50:00",
            "2026-07-04T12:00:30",
            "2026-07-04T12:00:00",
        ),
        (
            {"cron": "0 9 * * 1"},
            "2026-06-01T09:00:00",
            "2026-07-04T12:00:00",
            "2026-06-29T09:00:00",
        ),
        (
            {"every": 10, "unit": "minutes"},
            "2026-07-04T11:05:00",
            "2026-07-04T12:00:00",
            "2026-07-04T11:55:00",
        ),
        ({"cron": "* * * * *"}, "2026-07-04T12:00:00", "2026-07-04T12:00:30", None),
    ],
)
def test_latest_due(schedule, after, now, expected):
    def parse(text):
        return datetime.fromisoformat(text).replace(tzinfo=UTC)

    result = schedule_latest_due(schedule, after=parse(after), now=parse(now))
    assert result == (parse(expected) if expected else None)
