"""Handing an execution to the workers: the one place a run's broker message is sent.

The bottom of the executions package, so that everything that sends work (creating an
execution, a queue's dispatch, a retry, the recovery sweep, the runner re-sending an early
delivery) can reach it without importing the task module, which sits on top of all of
them. The task is looked up by its registered name in the Celery app
(``ExecutionsConfig.ready()`` imports ``executions.tasks``, so every process that sends has
it), and sent through it, so eager mode, routes and the task's options apply as if it were
called directly.

Callers use ``broker.execution_enqueue(...)`` (the module, not the name), so a test
replaces the one seam ``executions.broker.execution_enqueue`` for every sender.
"""

from __future__ import annotations

import logging
import uuid

from celery import current_app

logger = logging.getLogger(__name__)

RUN_EXECUTION_TASK = "executions.run_execution"


def execution_enqueue(*, execution_id: uuid.UUID | str, countdown: float | None = None) -> None:
    """Hand an execution to the workers (after ``countdown`` seconds). Failure is logged,
    not raised: the row is already committed and the recovery sweep will enqueue it once
    the broker answers again."""
    # Outside the try: a task missing from the app is a broken deployment, not an outage.
    task = current_app.tasks[RUN_EXECUTION_TASK]
    try:
        if countdown:
            task.apply_async(args=(str(execution_id),), countdown=countdown)
        else:
            task.delay(str(execution_id))
    except Exception:  # the broker's client raises many types; none may lose the row
        logger.warning("Could not enqueue execution %s; the recovery sweep will.", execution_id)
