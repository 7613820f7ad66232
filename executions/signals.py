"""Worker lifecycle hooks. Connected by importing this module (executions.tasks does)."""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import worker_ready

logger = logging.getLogger(__name__)


@worker_ready.connect
def requeue_stale_on_worker_ready(**_kwargs: Any) -> None:
    """A worker that starts after an outage picks up work the outage left behind, without
    waiting for beat (which may not run at all in a one-process deployment)."""
    from executions.recovery import executions_requeue_stale

    try:
        executions_requeue_stale()
    except Exception:  # a sweep failing must not stop the worker from starting
        logger.exception("Recovery sweep at worker start failed")
