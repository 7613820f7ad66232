"""A real ``celery beat`` with the project's scheduler and a real worker, on the test
database: a ``* * * * *`` flow fires within its minute and its run succeeds, and a fire
missed while beat was down runs once when it starts.

Not a ``services`` test: it runs in both CI passes (embedded SQLite and filesystem broker,
then PostgreSQL and Redis). Beat and the worker share a queue of their own, named through
``CELERY_TASK_DEFAULT_QUEUE``, so neither another session nor ``serve`` sees its messages.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django_celery_beat.models import PeriodicTask

from core.processes import beat_command
from executions.models import Execution, ExecutionStatus, TriggerKind
from tests.fixtures.schedules import one_flow_definition
from tests.fixtures.worker import (
    WorkerProcess,
    queue_drop,
    subprocess_env,
    wait_for_execution,
    worker_start,
)
from triggers.schedules.periodic_tasks import instance_periodic_tasks

READY_SECONDS = 60.0


def _wait_for_line(process: WorkerProcess, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not any(text in line for line in process.output):
        if process.process.poll() is not None or time.monotonic() > deadline:
            process.stop()
            raise AssertionError(f"no {text!r} from the process:\n{process.log[-4000:]}")
        time.sleep(0.05)


def _executions(instance) -> list[Execution]:
    return list(
        Execution.objects.filter(instance=instance, trigger_kind=TriggerKind.SCHEDULE).order_by(
            "created_at"
        )
    )


@pytest.mark.timeout(180)
@pytest.mark.django_db(transaction=True)
def test_real_beat_and_worker_fire_a_minutely_flow(make_integration, make_instance, tmp_path):
    instance = make_instance(make_integration(one_flow_definition({"cron": "* * * * *"})))
    task = instance_periodic_tasks(instance.pk)["Tick"]
    # Beat was "down" for the last three minutes: one catch-up fire, not three.
    PeriodicTask.objects.filter(pk=task.pk).update(
        last_run_at=datetime.now(UTC) - timedelta(minutes=3, seconds=30)
    )

    queue = f"tests-beat-{uuid.uuid4().hex[:10]}"
    env = subprocess_env(default_queue=queue)
    # Beat publishes to the default queue this worker consumes (CELERY_TASK_DEFAULT_QUEUE).
    worker = worker_start(queue=queue, name=queue)
    beat = None
    try:
        started = datetime.now(UTC)
        beat = WorkerProcess(
            beat_command(
                scheduler="triggers.schedules.scheduler:TriggerfishScheduler",
                schedule_file=str(tmp_path / "celerybeat-schedule"),
            ),
            env,
        )
        _wait_for_line(beat, "TriggerfishScheduler: loaded", READY_SECONDS)
        loaded = datetime.now(UTC)

        # The missed fire, once, for the latest missed minute.
        deadline = time.monotonic() + 30
        while not _executions(instance):
            assert time.monotonic() < deadline, beat.log[-4000:] + worker.log[-4000:]
            time.sleep(0.1)
        first = wait_for_execution(_executions(instance)[0].pk, timeout=30)
        assert first.status == ExecutionStatus.SUCCEEDED, first.error
        catch_up = datetime.fromisoformat(first.trigger_payload["scheduledTime"])
        # The latest minute missed when beat looked: the minute it started in (or the one
        # before, at :00.x), or the next when its start-up crossed a minute boundary.
        earliest = (started - timedelta(minutes=1)).replace(second=0, microsecond=0)
        latest = loaded.replace(second=0, microsecond=0)
        assert earliest <= catch_up <= latest, (catch_up, started, loaded)
        assert catch_up.second == 0 and catch_up.microsecond == 0

        # The next minute's fire, on time.
        boundary = catch_up + timedelta(minutes=1)
        if boundary <= datetime.now(UTC) - timedelta(seconds=1):  # started at :59.x
            boundary += timedelta(minutes=1)
        deadline = time.monotonic() + (boundary - datetime.now(UTC)).total_seconds() + 20
        while True:
            runs = [
                e
                for e in _executions(instance)
                if e.trigger_payload["scheduledTime"] == boundary.isoformat()
            ]
            if runs:
                break
            assert time.monotonic() < deadline, beat.log[-4000:] + worker.log[-4000:]
            time.sleep(0.1)
        run = wait_for_execution(runs[0].pk, timeout=30)
        assert run.status == ExecutionStatus.SUCCEEDED, run.error
        assert run.steps.get().result == {"data": boundary.isoformat()}
        invoked = datetime.fromisoformat(run.trigger_payload["invokedAt"])
        assert timedelta(0) <= invoked - boundary < timedelta(seconds=10)
        # Exactly one fire per scheduled time; no fire for each missed minute.
        times = [e.trigger_payload["scheduledTime"] for e in _executions(instance)]
        assert len(times) == len(set(times)) <= 3
        assert "TriggerfishScheduler: sent" in beat.log
    finally:
        if beat is not None:
            beat.stop()
        worker.stop()
        queue_drop(queue)
