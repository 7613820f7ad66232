"""Celery tasks: thin wrappers that take ids and call services."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="executions.run_execution", ignore_result=True)
def run_execution(execution_id: str) -> None:
    from executions.runner import execution_run

    execution_run(execution_id=execution_id)


@shared_task(name="executions.requeue_stale", ignore_result=True)
def requeue_stale() -> int:
    from executions.recovery import executions_requeue_stale

    return executions_requeue_stale()


# Worker hooks (recovery at start-up) live beside the tasks, so every worker that can run
# executions also connects them.
from executions import signals  # noqa: E402, F401
