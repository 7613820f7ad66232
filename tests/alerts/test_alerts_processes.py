"""Alerts through real processes: a worker runs the flows, the alert tasks and the
periodic checks; beat fires schedules. Notifications reach a real receiver on loopback
that verifies them with standardwebhooks.

Not ``services`` tests: they run in both CI passes (SQLite and the filesystem broker,
then PostgreSQL and Redis).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from alerts.models import AlertDelivery, AlertEvent
from config.celery import app
from core.processes import beat_command
from executions.services import execution_create
from tests.alerts.conftest import monitor_make
from tests.fixtures.executions import flow_make
from tests.fixtures.schedules import one_flow_definition
from tests.fixtures.worker import (
    WorkerProcess,
    queue_drop,
    subprocess_env,
    task_routes_set,
    wait_for_execution,
    worker_start,
)

CHECK_SECONDS = "0.5"


@pytest.fixture(scope="module")
def alert_worker(django_db_setup, django_db_blocker) -> Iterator[tuple[WorkerProcess, str]]:
    """A worker on a queue of its own that runs the alert checks every half second."""
    queue = f"tests-alerts-{uuid.uuid4().hex[:10]}"
    with django_db_blocker.unblock():
        worker = worker_start(
            queue=queue, name=queue, env={"TRIGGERFISH_ALERT_CHECK_SECONDS": CHECK_SECONDS}
        )
    try:
        yield worker, queue
    finally:
        worker.stop()
        queue_drop(queue)


def _wait(condition, timeout: float, what: str, *logs: WorkerProcess):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(what + "\n" + "\n".join(p.log[-12000:] for p in logs))
        time.sleep(0.05)
    return value


@pytest.mark.timeout(120)
@pytest.mark.django_db(transaction=True)
def test_a_failed_run_is_notified_and_a_hanging_receiver_slows_no_run(
    alert_worker, alert_receiver, http_peer
):
    worker, queue = alert_worker

    previous_routes = app.conf.task_routes
    task_routes_set(({"*": {"queue": queue}},))
    try:
        steps = [
            (
                "Call",
                "http.request",
                {"url": http_peer.url("/work"), "method": "GET", "failOnErrorStatus": True},
            )
        ]
        instance, flow = flow_make(steps=steps)
        http_peer.respond("/work", status=500)
        monitor = monitor_make("execution.failed", webhook=alert_receiver.url, instance=instance)
        alert_receiver.secret = monitor.channels.get().secret
        alert_receiver.hang = 8.0  # longer than the delivery's timeout

        failing = execution_create(
            instance=instance, flow=flow, trigger_kind="manual", payload={}, enqueue=True
        )
        assert wait_for_execution(failing.pk, timeout=30).status == "failed"
        _wait(lambda: alert_receiver.notices, 30, "no notice", worker)
        [notice] = alert_receiver.notices
        assert notice.verified, notice.error
        assert notice.json()["execution"]["id"] == str(failing.pk)

        # While the receiver hangs on that delivery, other runs start and finish at once.
        http_peer.respond("/work", status=200)
        began = time.monotonic()
        quick = execution_create(
            instance=instance, flow=flow, trigger_kind="manual", payload={}, enqueue=True
        )
        assert wait_for_execution(quick.pk, timeout=30).status == "succeeded"
        assert time.monotonic() - began < 4.0

        # The hanging attempt is recorded as no answer, and retried later.
        delivery = _wait(
            lambda: (
                AlertDelivery.objects.filter(event__monitor=monitor).exclude(attempts=[]).first()
            ),
            30,
            "no attempt recorded",
            worker,
        )
        assert delivery.attempts[0]["status"] is None
        assert "Timeout" in delivery.attempts[0]["error"]
        assert delivery.status == "pending" and delivery.next_attempt_at is not None
        # The succeeded run owes the failure's recovery notice.
        _wait(
            lambda: AlertEvent.objects.filter(
                monitor=monitor, type="execution.failed.recovered"
            ).exists(),
            30,
            "no recovery",
            worker,
        )
    finally:
        task_routes_set(previous_routes)


@pytest.mark.timeout(180)
@pytest.mark.django_db(transaction=True)
def test_schedule_overdue_when_beat_is_stopped_past_the_grace(
    alert_worker, alert_receiver, make_integration, make_instance, tmp_path
):
    _worker, queue = alert_worker
    instance = make_instance(make_integration(one_flow_definition({"cron": "* * * * *"})))
    grace = 3
    monitor = monitor_make(
        "schedule.overdue",
        webhook=alert_receiver.url,
        instance=instance,
        threshold={"graceSeconds": grace},
    )
    alert_receiver.secret = monitor.channels.get().secret
    env = subprocess_env(default_queue=queue)
    beat = WorkerProcess(
        beat_command(
            scheduler="triggers.schedules.scheduler:TriggerfishScheduler",
            schedule_file=str(tmp_path / "celerybeat-schedule"),
        ),
        env,
    )
    try:
        _wait(lambda: "TriggerfishScheduler: loaded" in beat.log, 60, "beat did not load", beat)
    finally:
        beat.stop()  # beat goes down before the next fire
    stopped = datetime.now(UTC)
    due = (stopped + timedelta(minutes=1)).replace(second=0, microsecond=0)
    wait = (due - datetime.now(UTC)).total_seconds() + grace + 20
    [notice] = alert_receiver.wait_for(1, timeout=wait)
    received = datetime.now(UTC)
    assert notice.verified, notice.error
    body = notice.json()
    assert body["type"] == "schedule.overdue"
    assert body["details"]["dueAt"] == due.isoformat()
    assert body["instance"]["id"] == str(instance.pk)
    # Not before the grace had passed, and within a few check intervals after it.
    assert received >= due + timedelta(seconds=grace)
    assert received - (due + timedelta(seconds=grace)) < timedelta(seconds=15)
