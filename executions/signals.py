"""Worker lifecycle hooks. Connected by importing this module (``ExecutionsConfig.ready()``
does, in every process; they act only in a worker or around a task)."""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import task_postrun, task_prerun, worker_ready
from django.db import close_old_connections

from executions.recovery import executions_requeue_stale

logger = logging.getLogger(__name__)


@worker_ready.connect
def requeue_stale_on_worker_ready(**_kwargs: Any) -> None:
    """A worker that starts after an outage picks up work the outage left behind, without
    waiting for beat (which may not run at all in a one-process deployment)."""
    try:
        executions_requeue_stale()
    except Exception:  # a sweep failing must not stop the worker from starting
        logger.exception("Recovery sweep at worker start failed")


@task_prerun.connect
@task_postrun.connect
def database_connections_tidy(*, task: Any = None, **_kwargs: Any) -> None:
    """Around every task, what Django does around every request: drop a connection that is
    past ``CONN_MAX_AGE`` or broken, keep a healthy one (``CELERY_DB_REUSE_MAX`` stops
    Celery from closing every connection at every task, config/settings/broker.py)."""
    if task is not None and getattr(task.request, "is_eager", False):
        return  # run in the caller's thread, perhaps inside its transaction: not ours
    close_old_connections()
