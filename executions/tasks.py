"""Celery tasks: thin wrappers that take ids and call services.

``ExecutionsConfig.ready()`` imports this module (and ``executions.signals``), so every
process that sends a run (``executions.broker``) or runs one has the tasks registered.
"""

from __future__ import annotations

from celery import shared_task

from executions.broker import RUN_EXECUTION_TASK
from executions.recovery import executions_requeue_stale
from executions.replay import REPLAY_JOB_TASK, replay_job_run
from executions.runner import execution_run


@shared_task(name=RUN_EXECUTION_TASK, ignore_result=True)
def run_execution(execution_id: str) -> None:
    execution_run(execution_id=execution_id)


@shared_task(name="executions.requeue_stale", ignore_result=True)
def requeue_stale() -> int:
    return executions_requeue_stale()


@shared_task(name=REPLAY_JOB_TASK, ignore_result=True)
def run_replay_job(job_id: str) -> None:
    replay_job_run(job_id=job_id)
