"""Retries of failed runs (async flows: ``retry: {maxAttempts, delaySeconds,
exponentialBackoff}``).

Each attempt is an Execution row of its own, so every attempt keeps its own steps, logs,
error and timing: attempt 1 is the original; attempt n+1 is created when attempt n fails,
with ``retry_of`` = the original, ``attempt`` = n+1, the same trigger payload and dedupe id,
the original's ``arrived_at`` (its place in a FIFO queue) and ``not_before`` = now + the
delay. ``maxAttempts`` counts retries, so a flow runs at most 1 + maxAttempts times.

The delay is honoured twice over: the broker message carries a countdown, and the claim
refuses a row before its ``not_before`` (re-sending it for the time left), so a message
that arrives early, or the recovery sweep, cannot start it too soon.

Whoever turned the attempt ``running -> failed`` schedules its retry: the runner, or the
recovery sweep for a run whose worker died. Only one of them can win that update, and a
unique constraint on (retry_of, attempt) backs it up. Both call
``execution_finished_followup``, which lives here, below both of them: a run's end sets
off its retry and the next run of its queue.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.codec import UndecodablePayload
from executions import broker
from executions.hooks import execution_ended_send
from executions.models import Execution, ExecutionLog, ExecutionStatus, TriggerKind
from executions.queues import queue_dispatch_safely
from executions.services import IDENTITY_KEYS, execution_create
from integrations.models import Flow, QueueType

logger = logging.getLogger(__name__)

# The definition caps delaySeconds at a week; backoff must not double past that.
MAX_DELAY_SECONDS = 7 * 24 * 3600


def retry_delay_seconds(*, flow: Flow, failed_attempt: int) -> int:
    """Seconds to wait before the attempt after ``failed_attempt`` (1-based)."""
    delay = flow.retry_delay_seconds
    if flow.retry_exponential_backoff:
        delay = delay * 2 ** (failed_attempt - 1)
    return min(delay, MAX_DELAY_SECONDS)


def execution_retry_schedule(*, execution_id: uuid.UUID | str) -> Execution | None:
    """Create the next attempt of a failed execution if its flow asks for one."""
    failed = (
        Execution.objects.select_related("instance", "flow", "retry_of")
        .filter(pk=execution_id, status=ExecutionStatus.FAILED)
        .first()
    )
    if failed is None or failed.synchronous or failed.trigger_kind == TriggerKind.REPLAY:
        # A sync caller has had its answer; a replay is a person's explicit single re-run.
        return None
    flow = failed.flow
    if failed.attempt > flow.retry_max_attempts:
        return None
    if failed.instance.removed_at is not None:
        return None
    if isinstance(failed.trigger_payload, UndecodablePayload):
        return None  # a retry would fail the same way: the payload cannot be read
    first = failed.retry_of or failed
    delay = retry_delay_seconds(flow=flow, failed_attempt=failed.attempt)
    payload = {k: v for k, v in failed.trigger_payload.items() if k not in IDENTITY_KEYS}
    try:
        with transaction.atomic():
            retry = execution_create(
                instance=failed.instance,
                flow=flow,
                trigger_kind=failed.trigger_kind,
                payload=payload,
                enqueue=False,
                dedupe_id=failed.dedupe_id,
                retry_of=first,
                attempt=failed.attempt + 1,
                arrived_at=first.arrived_at or first.created_at,
                not_before=timezone.now() + timedelta(seconds=delay),
            )
            ExecutionLog.objects.create(
                execution=failed,
                level="info",
                message=f"Retry scheduled in {delay} s: attempt {retry.attempt} ({retry.id})",
            )
            transaction.on_commit(lambda: _send(retry, delay))
    except IntegrityError:
        logger.info("Attempt %d of %s already scheduled", failed.attempt + 1, first.id)
        return None
    return retry


def _send(retry: Execution, delay: int) -> None:
    broker.execution_enqueue(execution_id=retry.id, countdown=delay)
    if retry.flow.queue_type == QueueType.PARALLEL:
        return
    # The failed attempt freed its slot: let the rows behind it start (a throttled queue;
    # a sequential one waits for its head, this retry).
    queue_dispatch_safely(instance_id=retry.instance_id, flow_name=retry.flow.name)


def execution_finished_followup(*, execution_id: uuid.UUID | str) -> None:
    """What a run ending sets off: its retry if it failed, and the next run of its queue.
    Called by whoever moved the row out of `running` (the runner, the lost-run sweep)."""
    row = (
        Execution.objects.filter(pk=execution_id)
        .values(
            "status",
            "instance_id",
            "customer_id",
            "flow__name",
            "flow__queue_type",
        )
        .first()
    )
    if row is None:
        return
    retry_scheduled = False
    if row["status"] == ExecutionStatus.FAILED:
        try:
            retry_scheduled = execution_retry_schedule(execution_id=execution_id) is not None
        except Exception:
            logger.exception("Could not schedule a retry of execution %s", execution_id)
    # The retry's own dispatch starts what comes next in its queue.
    if not retry_scheduled and row["flow__queue_type"] != QueueType.PARALLEL:
        queue_dispatch_safely(instance_id=row["instance_id"], flow_name=row["flow__name"])
    execution_ended_send(
        execution_id=execution_id,
        status=row["status"],
        retry_scheduled=retry_scheduled,
        instance_id=row["instance_id"],
        customer_id=row["customer_id"],
        flow_name=row["flow__name"],
    )
