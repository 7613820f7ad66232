"""Recovery: the database row, not the broker, decides what must run.

Two ways work gets stuck, and what the sweep does about each:

- **Queued, never picked up**: the broker was down when the row committed, or its message
  was lost (a purged queue, a broker restarted without persistence). Rows still ``queued``
  after ``TRIGGERFISH_REQUEUE_AFTER_SECONDS`` are enqueued again. A duplicate message is
  harmless: the runner's claim lets exactly one delivery run.
- **Running, never finished**: the worker died mid-run (OOM kill, host lost). With late
  acks the message is redelivered, but the claim refuses it (the row says ``running``), so
  rows ``running`` longer than ``TRIGGERFISH_LOST_RUNNING_AFTER_SECONDS`` (default 1 h,
  far beyond any step's limits) are marked failed with "Worker lost while running". They
  are not re-run: a half-run flow may already have had effects elsewhere.

The sweep runs every 60 s from beat (CELERY_BEAT_SCHEDULE) and once when a worker starts.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from executions.models import Execution, ExecutionLog, ExecutionStatus
from executions.services import execution_enqueue

logger = logging.getLogger(__name__)

LOST_WORKER_ERROR = "Worker lost while running"
DEFAULT_LOST_RUNNING_AFTER_SECONDS = 3600
# Bounds one sweep's work; a larger backlog drains over the following sweeps.
SWEEP_BATCH = 1000


def executions_requeue_stale(*, older_than_seconds: int | None = None) -> int:
    """Re-enqueue executions left ``queued`` for too long and fail those lost while running.
    Returns how many executions were re-enqueued."""
    now = timezone.now()
    if older_than_seconds is None:
        older_than_seconds = settings.TRIGGERFISH_REQUEUE_AFTER_SECONDS
    stale_ids = list(
        Execution.objects.filter(
            status=ExecutionStatus.QUEUED,
            created_at__lt=now - timedelta(seconds=older_than_seconds),
        )
        .order_by("created_at")
        .values_list("id", flat=True)[:SWEEP_BATCH]
    )
    requeued = 0
    for execution_id in stale_ids:
        # A long backlog keeps rows queued legitimately; re-sending each of them every
        # minute would grow the backlog. The cache marks a row as re-sent for one interval
        # (per process without a shared cache, which still bounds beat to one send/minute).
        if not cache.add(f"executions:requeued:{execution_id}", 1, timeout=older_than_seconds):
            continue
        execution_enqueue(execution_id=execution_id)
        requeued += 1
    if requeued:
        logger.warning(
            "Re-enqueued %d execution(s) left queued > %d s", requeued, older_than_seconds
        )
    executions_fail_lost(now=now)
    return requeued


def executions_fail_lost(*, now: datetime | None = None) -> int:
    """Mark executions ``running`` far past any sane duration as failed. Returns the count."""
    now = now or timezone.now()
    limit = getattr(
        settings, "TRIGGERFISH_LOST_RUNNING_AFTER_SECONDS", DEFAULT_LOST_RUNNING_AFTER_SECONDS
    )
    lost_ids = list(
        Execution.objects.filter(
            status=ExecutionStatus.RUNNING, started_at__lt=now - timedelta(seconds=limit)
        ).values_list("id", flat=True)[:SWEEP_BATCH]
    )
    failed = 0
    for execution_id in lost_ids:
        # The same claim as the runner's: a run that finishes right now keeps its own outcome.
        if Execution.objects.filter(pk=execution_id, status=ExecutionStatus.RUNNING).update(
            status=ExecutionStatus.FAILED, ended_at=now, error=LOST_WORKER_ERROR
        ):
            ExecutionLog.objects.create(
                execution_id=execution_id, level="error", message=LOST_WORKER_ERROR
            )
            failed += 1
    if failed:
        logger.warning("Marked %d execution(s) failed: %s", failed, LOST_WORKER_ERROR)
    return failed
