"""Concurrent runs on a real database: increments are atomic, per-key writes both stay.

Each run is a real ``execution_run`` in its own thread with its own connection, all
released at once, so their final transactions race. The SQLite tests run in every pass;
the PostgreSQL ones in CI's services pass (``DATABASE_URL=postgres://…``), where
``require_postgres`` makes them fail rather than skip.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from executions.models import Execution
from executions.runner import execution_run
from tests.state.conftest import World, increment_step, set_step, stored

RUNS = 20


def race(executions: list[Execution]) -> None:
    barrier = threading.Barrier(len(executions))
    errors: list[BaseException] = []

    def deliver(execution: Execution) -> None:
        try:
            barrier.wait()
            execution_run(execution_id=str(execution.id))
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(e,)) for e in executions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert not any(thread.is_alive() for thread in threads)
    statuses = Execution.objects.filter(pk__in=[e.pk for e in executions]).values_list(
        "status", flat=True
    )
    assert list(statuses) == ["succeeded"] * len(executions)


def concurrent_increments_count_each_run() -> None:
    world = World()
    integration = world.integration(
        {
            "Count": [increment_step("integration", "calls")],
            "Seeded": [increment_step("flow", "total", by=2.5)],
        }
    )
    instance = world.instance(integration)
    race([world.queue(instance, "Count") for _ in range(RUNS)])
    assert stored(instance, "Count")["integration"] == {"calls": RUNS}
    # An existing key too (the row is there from the first run on: the update path).
    assert world.run(instance, "Seeded").status == "succeeded"
    race([world.queue(instance, "Seeded") for _ in range(RUNS)])
    assert stored(instance, "Seeded")["flow"] == {"total": 2.5 * (RUNS + 1)}


def crossed_increments_neither_deadlock_nor_lose_counts() -> None:
    """Half the runs add to a then b, half to b then a: the commit locks rows in one order."""
    world = World()
    integration = world.integration(
        {
            "AB": [increment_step("instance", "a", name="A"), increment_step("instance", "b")],
            "BA": [increment_step("instance", "b", name="B"), increment_step("instance", "a")],
        }
    )
    instance = world.instance(integration)
    assert world.run(instance, "AB").status == "succeeded"  # both rows exist: locks, no inserts
    race([world.queue(instance, "AB" if n % 2 else "BA") for n in range(RUNS)])
    assert stored(instance, "AB")["instance"] == {"a": RUNS + 1, "b": RUNS + 1}


def concurrent_runs_keep_each_others_keys() -> None:
    world = World()
    flows = {f"F{n}": [set_step("instance", f"key {n}", n)] for n in range(RUNS)}
    integration = world.integration(flows)
    instance = world.instance(integration)
    race([world.queue(instance, name) for name in flows])
    assert stored(instance, "F0")["instance"] == {f"key {n}": n for n in range(RUNS)}


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_increments_give_twenty_on_sqlite():
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite pass; the PostgreSQL one is below")
    concurrent_increments_count_each_run()


@pytest.mark.django_db(transaction=True)
def test_crossed_concurrent_increments_count_each_run_on_sqlite():
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite pass; the PostgreSQL one is below")
    crossed_increments_neither_deadlock_nor_lose_counts()


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_writing_different_keys_keep_all_on_sqlite():
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite pass; the PostgreSQL one is below")
    concurrent_runs_keep_each_others_keys()


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_increments_give_twenty_on_postgresql(require_postgres):
    concurrent_increments_count_each_run()


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_writing_different_keys_keep_all_on_postgresql(require_postgres):
    concurrent_runs_keep_each_others_keys()


@pytest.mark.django_db(transaction=True)
def test_crossed_concurrent_increments_count_each_run_on_postgresql(require_postgres):
    crossed_increments_neither_deadlock_nor_lose_counts()
