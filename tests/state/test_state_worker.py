"""Increments from two processes at once: a real Celery worker and this test's threads.

With the default settings (SQLite, filesystem broker) this runs in the plain test pass;
in CI's services pass (PostgreSQL, Redis) it exercises those instead.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from executions.runner import execution_run
from executions.services import execution_create
from tests.fixtures.worker import wait_for_execution
from tests.state.conftest import World, increment_step, stored

pytestmark = pytest.mark.django_db(transaction=True)

EACH = 10


def test_increments_from_a_worker_and_this_process_all_count(celery_worker_process):
    world = World()
    integration = world.integration({"Count": [increment_step("integration", "hits")]})
    instance = world.instance(integration)
    flow = integration.flows.get()

    def create(enqueue: bool):
        return execution_create(
            instance=instance, flow=flow, trigger_kind="manual", payload={}, enqueue=enqueue
        )

    local = [create(False) for _ in range(EACH)]
    barrier = threading.Barrier(EACH)

    def deliver(execution_id: str) -> None:
        try:
            barrier.wait()
            execution_run(execution_id=execution_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(str(e.id),)) for e in local]
    for thread in threads:
        thread.start()
    remote = [create(True) for _ in range(EACH)]  # the worker takes these meanwhile
    for thread in threads:
        thread.join(timeout=60)
    finished = [wait_for_execution(e.id) for e in local + remote]
    assert [e.status for e in finished] == ["succeeded"] * (2 * EACH), celery_worker_process.log
    assert stored(instance, "Count")["integration"] == {"hits": 2 * EACH}
