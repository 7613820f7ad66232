"""The project's beat scheduler, in-process with controlled time: fires at the due time
with the scheduled time in the message, a missed fire once, DST both ways, intervals,
incremental reloads on deploy/pause/enable/remove/config change, batches, publish
failures, and the stock entries it still runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import time_machine
from django_celery_beat.models import CrontabSchedule, PeriodicTask, PeriodicTasks

from config.celery import app
from instances.lifecycle import (
    instance_config_update,
    instance_enable,
    instance_pause,
    instance_remove,
)
from tests.fixtures.schedules import one_flow_definition, schedule_definition
from triggers.schedules.periodic_tasks import FIRE_BATCH_TASK, FIRE_TASK, instance_periodic_tasks
from triggers.schedules.scheduler import TriggerfishScheduler

pytestmark = pytest.mark.django_db


class Beat:
    """A scheduler with its publishing captured and a hand on the clock."""

    def __init__(self, traveller, monkeypatch) -> None:
        self.traveller = traveller
        self.messages: list[list[list]] = []
        self.generic: list[str] = []
        self.fail_next = 0
        monkeypatch.setattr(app, "send_task", self._send)
        self.scheduler = TriggerfishScheduler(app=app)
        self.scheduler.__dict__["producer"] = "test-producer"
        self.scheduler.apply_entry = lambda entry, producer=None: self.generic.append(entry.name)
        self.scheduler.change_check_seconds = 0.0

    def _send(self, name, args=None, producer=None, **options):
        assert name == FIRE_BATCH_TASK
        assert producer == "test-producer"
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("broker down")
        self.messages.append(args[0])

    @property
    def fires(self) -> list[tuple[str, str]]:
        return [(item[2], item[3]) for message in self.messages for item in message]

    def tick(self) -> float:
        return self.scheduler.tick()

    def run_until(self, end: datetime) -> None:
        """Tick at each due time up to ``end``, as beat's loop would."""
        while True:
            self.tick()
            heap = self.scheduler._due_heap
            upcoming = heap[0][0] if heap else None
            if upcoming is None or upcoming > end.timestamp():
                self.traveller.move_to(end)
                self.tick()
                return
            self.traveller.move_to(datetime.fromtimestamp(upcoming, UTC))


@pytest.fixture
def clock():
    with time_machine.travel(datetime(2026, 7, 4, 12, 0, 10, tzinfo=UTC), tick=False) as t:
        yield t


@pytest.fixture
def beat(clock, monkeypatch):
    monkeypatch.setattr("triggers.schedules.scheduler.close_old_connections", lambda: None)
    monkeypatch.setattr("django_celery_beat.schedulers.close_old_connections", lambda: None)
    monkeypatch.setitem(app.conf, "beat_schedule", {})
    beats = []

    def make() -> Beat:
        made = Beat(clock, monkeypatch)
        beats.append(made)
        return made

    yield make
    for made in beats:  # no sync at interpreter exit, when the test database is gone
        made.scheduler._finalize.cancel()


@pytest.fixture
def ticker(make_integration, make_instance, clock):
    return make_instance(make_integration(one_flow_definition({"cron": "* * * * *"})))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_fires_at_the_due_time_with_the_scheduled_time(ticker, beat, clock):
    b = beat()
    wait = b.tick()
    assert b.messages == []
    assert wait <= 5
    clock.move_to(at("2026-07-04T12:01:00"))
    b.tick()
    task = instance_periodic_tasks(ticker.pk)["Tick"]
    assert b.messages == [[[task.pk, str(ticker.pk), "Tick", "2026-07-04T12:01:00+00:00"]]]
    b.tick()
    assert len(b.messages) == 1
    b.scheduler.sync()
    task.refresh_from_db()
    assert task.last_run_at == at("2026-07-04T12:01:00")
    assert task.total_run_count == 1


def test_a_missed_fire_runs_once_on_start(ticker, beat, clock):
    task = instance_periodic_tasks(ticker.pk)["Tick"]
    PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=at("2026-07-04T11:50:00"))
    clock.move_to(at("2026-07-04T12:00:30"))
    b = beat()
    b.tick()
    b.tick()
    assert b.fires == [("Tick", "2026-07-04T12:00:00+00:00")]
    b.run_until(at("2026-07-04T12:02:30"))
    assert [when for _flow, when in b.fires] == [
        "2026-07-04T12:00:00+00:00",
        "2026-07-04T12:01:00+00:00",
        "2026-07-04T12:02:00+00:00",
    ]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (  # spring forward: 02:30 does not exist on 03-08; it runs at 03:00 CDT
            "2026-03-06T12:00:00",
            "2026-03-09T12:00:00",
            ["2026-03-07T08:30:00+00:00", "2026-03-08T08:00:00+00:00", "2026-03-09T07:30:00+00:00"],
        ),
        (  # fall back: 02:30 once on 11-01 (CST)
            "2026-10-30T12:00:00",
            "2026-11-02T12:00:00",
            ["2026-10-31T07:30:00+00:00", "2026-11-01T08:30:00+00:00", "2026-11-02T08:30:00+00:00"],
        ),
    ],
)
def test_a_daily_job_fires_once_a_day_across_dst(
    make_integration, make_instance, beat, clock, start, end, expected
):
    clock.move_to(at(start))
    make_instance(
        make_integration(one_flow_definition({"cron": "30 2 * * *", "timeZone": "America/Chicago"}))
    )
    b = beat()
    b.run_until(at(end))
    assert [when for _flow, when in b.fires] == expected


def test_a_repeated_hour_fires_twice_for_a_clock_following_job(
    make_integration, make_instance, beat, clock
):
    clock.move_to(at("2026-11-01T05:50:00"))  # 00:50 CDT
    make_instance(
        make_integration(one_flow_definition({"cron": "15 * * * *", "timeZone": "America/Chicago"}))
    )
    b = beat()
    b.run_until(at("2026-11-01T09:00:00"))
    # 01:15 CDT, 01:15 CST, 02:15 CST
    assert [when for _flow, when in b.fires] == [
        "2026-11-01T06:15:00+00:00",
        "2026-11-01T07:15:00+00:00",
        "2026-11-01T08:15:00+00:00",
    ]


def test_intervals_count_from_the_deploy_then_from_each_fire(
    make_integration, make_instance, beat, clock
):
    make_instance(make_integration(one_flow_definition({"every": 10, "unit": "minutes"})))
    b = beat()
    b.run_until(at("2026-07-04T12:35:00"))
    assert [when for _flow, when in b.fires] == [
        "2026-07-04T12:10:10+00:00",
        "2026-07-04T12:20:10+00:00",
        "2026-07-04T12:30:10+00:00",
    ]


def test_lifecycle_changes_reach_a_running_scheduler_incrementally(
    make_integration, make_instance, beat, clock, monkeypatch
):
    b = beat()
    full_loads = []
    original = b.scheduler._load_all
    monkeypatch.setattr(b.scheduler, "_load_all", lambda: (full_loads.append(1), original()))
    # The change marker is a timestamp: let the frozen clock move between changes.
    clock.shift(1)
    integration = make_integration(schedule_definition())
    instance = make_instance(integration)  # deploy: three schedule flows
    b.tick()
    assert len(b.scheduler._fires) == 3
    assert full_loads == []

    clock.shift(1)
    instance_pause(instance=instance)
    b.tick()
    assert b.scheduler._fires == {}

    clock.move_to(at("2026-07-04T13:00:30"))
    instance_enable(instance=instance)
    b.tick()
    assert len(b.scheduler._fires) == 3
    b.run_until(at("2026-07-04T13:04:00"))
    # No catch-up for the time it was paused: the */5 config schedule fires at 13:05 next.
    assert b.fires == []

    instance_config_update(
        instance=instance,
        config_values={"Sync Schedule": {"scheduleType": "minute", "value": "* * * * *"}},
    )
    b.run_until(at("2026-07-04T13:05:30"))
    assert b.fires == [("Configured", "2026-07-04T13:05:00+00:00")]

    clock.shift(1)
    instance_remove(instance=instance)
    b.tick()
    assert b.scheduler._fires == {}
    assert full_loads == []


def test_a_schedule_row_edited_alone_is_picked_up_by_a_full_read(ticker, beat, clock):
    b = beat()
    b.tick()
    task = instance_periodic_tasks(ticker.pk)["Tick"]
    clock.move_to(at("2026-07-04T12:03:00"))  # beyond the change margin
    CrontabSchedule.objects.filter(pk=task.crontab_id).update(minute="30")
    PeriodicTasks.update_changed()
    b.run_until(at("2026-07-04T12:31:00"))
    assert [when for _flow, when in b.fires][-1] == "2026-07-04T12:30:00+00:00"


def many_tasks(count: int, *, cron: str = "* * * * *") -> None:
    """``count`` instance-style tasks, each with its own crontab row, without instances
    (the scheduler only reads the rows)."""
    rows = CrontabSchedule.objects.bulk_create(
        [CrontabSchedule(minute=cron.split()[0], timezone="UTC") for _ in range(count)]
    )
    PeriodicTask.objects.bulk_create(
        [
            PeriodicTask(
                name=f"Triggerfish: Bulk / Instance {n} / Tick [{n}]",
                task=FIRE_TASK,
                kwargs=json.dumps({"instance_id": str(n), "flow_name": "Tick"}),
                crontab=row,
            )
            for n, row in enumerate(rows)
        ]
    )
    PeriodicTasks.update_changed()


def test_many_schedules_load_in_batches_and_fire_in_batched_messages(beat, clock):
    many_tasks(1_200)  # the stock scheduler stops at 1,000 on SQLite
    b = beat()
    assert len(b.scheduler._fires) == 1_200
    clock.move_to(at("2026-07-04T12:01:00"))
    b.tick()
    assert [len(message) for message in b.messages] == [500, 500, 200]
    assert {when for _flow, when in b.fires} == {"2026-07-04T12:01:00+00:00"}


def test_a_publish_failure_is_retried_not_lost(ticker, beat, clock):
    b = beat()
    b.fail_next = 1
    clock.move_to(at("2026-07-04T12:01:00"))
    b.tick()
    assert b.messages == []
    clock.move_to(at("2026-07-04T12:01:06"))
    b.tick()
    assert b.fires == [("Tick", "2026-07-04T12:01:00+00:00")]


def test_other_periodic_tasks_still_run_the_stock_way(beat, clock, monkeypatch):
    monkeypatch.setitem(
        app.conf,
        "beat_schedule",
        {"requeue-stale-executions": {"task": "executions.requeue_stale", "schedule": 60.0}},
    )
    b = beat()
    assert "requeue-stale-executions" in b.scheduler.schedule
    b.tick()
    clock.move_to(at("2026-07-04T12:01:15"))
    b.tick()
    b.tick()
    assert b.generic == ["requeue-stale-executions"]
    b.scheduler.sync()
    assert PeriodicTask.objects.get(name="requeue-stale-executions").total_run_count == 1
