"""Recovery: the database row, not the broker, decides what must run.

Two ways work gets stuck, and what the sweep does about each:

- **Queued, never picked up**: the broker was down when the row committed, or its message
  was lost (a purged queue, a broker restarted without persistence). Rows still ``queued``
  after ``TRIGGERFISH_REQUEUE_AFTER_SECONDS`` are enqueued again. A duplicate message is
  harmless: the runner's claim lets exactly one delivery run.
  Rows of throttled and sequential queues are not re-sent one by one: their queue is
  dispatched, which sends only the rows that may start now.
- **Running, never finished**: the worker died mid-run (SIGKILL, OOM kill, host lost).
  With late acks the message may be redelivered, but the claim refuses it (the row says
  ``running``). The worker's heartbeat (``executions.heartbeat``) stops with it, so rows
  whose ``heartbeat_at`` is older than ``TRIGGERFISH_LOST_HEARTBEAT_SECONDS`` (default
  30 s) — or, without heartbeats, ``running`` longer than
  ``TRIGGERFISH_LOST_RUNNING_AFTER_SECONDS`` (1 h) — are marked failed with "Worker lost
  while running: ...". They are not simply re-run (a half-run flow may already have had
  effects elsewhere); a flow with ``retry`` gets its next attempt, like any failure.

The sweep runs every ``TRIGGERFISH_RECOVERY_SWEEP_SECONDS`` (15 s) from beat
(CELERY_BEAT_SCHEDULE) and once when a worker starts.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from executions import broker
from executions.models import Execution, ExecutionLog, ExecutionStatus
from executions.queues import queue_dispatch
from executions.replay import replay_jobs_requeue_stale
from executions.retries import execution_finished_followup
from integrations.models import QueueType

logger = logging.getLogger(__name__)

LOST_WORKER_ERROR = "Worker lost while running"
DEFAULT_LOST_RUNNING_AFTER_SECONDS = 3600
# Bounds one sweep's work; a larger backlog drains over the following sweeps.
SWEEP_BATCH = 1000


def executions_requeue_stale(*, older_than_seconds: int | None = None) -> int:
    """Re-send executions left ``queued`` for too long and fail those lost while running.
    Returns how many messages were sent."""
    now = timezone.now()
    if older_than_seconds is None:
        older_than_seconds = settings.TRIGGERFISH_REQUEUE_AFTER_SECONDS
    cutoff = now - timedelta(seconds=older_than_seconds)
    # A retry counts from when it became due, not from when it was created.
    stale = (
        Execution.objects.filter(status=ExecutionStatus.QUEUED)
        .filter(Q(not_before__isnull=True, created_at__lt=cutoff) | Q(not_before__lt=cutoff))
        .order_by("created_at")
        .values_list("id", "instance_id", "flow__name", "flow__queue_type")[:SWEEP_BATCH]
    )
    requeued = 0
    queues: set[tuple[uuid.UUID, str]] = set()
    for execution_id, instance_id, flow_name, queue_type in stale:
        if queue_type != QueueType.PARALLEL:
            # Most of a throttled or sequential backlog is waiting its turn, not lost:
            # re-sending each row would only be refused. The queue's dispatch sends the
            # rows that may start now, once per queue per sweep.
            queues.add((instance_id, flow_name))
            continue
        # A long backlog keeps rows queued legitimately; re-sending each of them every
        # sweep would grow the backlog. The cache marks a row as re-sent for one interval
        # (per process without a shared cache, which still bounds beat to one send/interval).
        if not cache.add(f"executions:requeued:{execution_id}", 1, timeout=older_than_seconds):
            continue
        broker.execution_enqueue(execution_id=execution_id)
        requeued += 1
    for instance_id, flow_name in queues:
        requeued += queue_dispatch(instance_id=instance_id, flow_name=flow_name)
    if requeued:
        logger.warning(
            "Re-enqueued %d execution(s) left queued > %d s", requeued, older_than_seconds
        )
    executions_fail_lost(now=now)
    # Bulk replay jobs whose message was lost or whose run died (executions.replay).
    requeued += replay_jobs_requeue_stale(now=now, older_than_seconds=older_than_seconds)
    return requeued


def executions_fail_lost(*, now: datetime | None = None) -> int:
    """Fail executions whose worker is gone: no heartbeat for
    ``TRIGGERFISH_LOST_HEARTBEAT_SECONDS``, or (rows from before heartbeats, or a run hung
    with its process alive) running far past any sane duration. Returns the count."""
    now = now or timezone.now()
    limit = getattr(
        settings, "TRIGGERFISH_LOST_RUNNING_AFTER_SECONDS", DEFAULT_LOST_RUNNING_AFTER_SECONDS
    )
    silent = settings.TRIGGERFISH_LOST_HEARTBEAT_SECONDS
    lost = list(
        Execution.objects.filter(status=ExecutionStatus.RUNNING)
        .filter(
            Q(heartbeat_at__lt=now - timedelta(seconds=silent))
            | Q(started_at__lt=now - timedelta(seconds=limit))
        )
        .values_list("id", "heartbeat_at")[:SWEEP_BATCH]
    )
    failed = 0
    for execution_id, heartbeat_at in lost:
        if heartbeat_at is not None and heartbeat_at < now - timedelta(seconds=silent):
            reason = (
                f"{LOST_WORKER_ERROR}: no heartbeat since {heartbeat_at.isoformat()} "
                f"(the worker stopped, e.g. killed or its host lost)"
            )
        else:
            reason = LOST_WORKER_ERROR
        # The same claim as the runner's: a run that finishes right now keeps its own outcome.
        if Execution.objects.filter(pk=execution_id, status=ExecutionStatus.RUNNING).update(
            status=ExecutionStatus.FAILED, ended_at=now, error=reason
        ):
            ExecutionLog.objects.create(execution_id=execution_id, level="error", message=reason)
            failed += 1
            # Its retry (if the flow has retries) and the next run of its queue.
            execution_finished_followup(execution_id=execution_id)
    if failed:
        logger.warning("Marked %d execution(s) failed: %s", failed, LOST_WORKER_ERROR)
    return failed
