"""A bulk replay of 1,000 failed executions through a real worker at the configured rate
(SPEC §10): the job reaches ``done`` with 1,000 replays, each with ``replayOf``, none
twice, and it took no less time than the rate allows. A ``services`` test: it runs in
CI's PostgreSQL and Redis pass."""

from __future__ import annotations

import time
import uuid
from collections import Counter

import pytest

from executions.models import Execution, ExecutionStatus, ReplayJob
from executions.replay import replay_job_create, replay_job_run
from tests.fixtures.executions import flow_make
from tests.fixtures.services import services
from tests.fixtures.worker import queue_drop, task_routes_set, worker_start

COUNT = 1000
RATE = 200.0  # replays a second; the default of 20 would make this test take 50 s


@services
@pytest.mark.timeout(240)
@pytest.mark.django_db(transaction=True)
def test_a_thousand_failed_executions_are_replayed_once_each_at_the_rate():
    from config.celery import app

    instance, flow = flow_make(steps=[("R", "flow.return", {"data": 1})])
    Execution.objects.bulk_create(
        Execution(
            instance=instance,
            customer=instance.customer,
            integration=instance.integration,
            flow=flow,
            status=ExecutionStatus.FAILED,
            error="upstream 502",
            trigger_kind="webhook",
            trigger_payload={"body": {"data": {"n": n}}},
        )
        for n in range(COUNT)
    )
    originals = set(Execution.objects.values_list("pk", flat=True))
    queue = f"tests-replay-{uuid.uuid4().hex[:10]}"
    worker = worker_start(queue=queue, name=queue, env={"TRIGGERFISH_REPLAY_PER_SECOND": str(RATE)})
    previous_routes = app.conf.task_routes
    task_routes_set(({"*": {"queue": queue}},))
    try:
        began = time.monotonic()
        job = replay_job_create(executions=Execution.objects.all(), filter_shown={})
        assert job.total == COUNT
        deadline = time.monotonic() + 180
        while ReplayJob.objects.get(pk=job.pk).status != "done":
            assert time.monotonic() < deadline, worker.log[-4000:]
            time.sleep(0.2)
        took = time.monotonic() - began
        # The job's own task a second time (a redelivery): nothing is replayed again.
        replay_job_run(job_id=job.pk)
    finally:
        task_routes_set(previous_routes)
        # Let the replays' runs finish before the worker goes, so the flush finds no lock.
        deadline = time.monotonic() + 120
        while (
            Execution.objects.filter(
                status__in=(ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)
            ).exists()
            and time.monotonic() < deadline
        ):
            time.sleep(0.2)
        worker.stop()
        queue_drop(queue)
    job = ReplayJob.objects.get(pk=job.pk)
    assert (job.status, job.total, job.created, job.skipped) == ("done", COUNT, COUNT, 0)
    replays = Counter(
        Execution.objects.filter(replay_of__isnull=False).values_list("replay_of_id", flat=True)
    )
    assert set(replays) == originals  # every one replayed ...
    assert set(replays.values()) == {1}  # ... once
    # 1,000 at 200 a second cannot take less than (1,000 - 1) / 200 s.
    assert took >= (COUNT - 1) / RATE, took
    print(f"\n1,000 replays at {RATE:.0f}/s: job done in {took:.1f} s")
