"""Flow queues: parallel, throttled (at most N running) and sequential (FIFO, one at a time).

The database is the queue's truth. Executions wait as ``queued`` rows of their instance
flow (one queue per instance and flow *name*, so a redeploy to a new version keeps the
order), ordered by ``arrived_at``. Two things act on a queue:

- **dispatch** (``queue_dispatch``) reads which rows may start now and sends each a broker
  message. It runs when work arrives, when a run of the queue ends, when a queued row is
  canceled and from the recovery sweep. It only reads, so it needs no lock: sending a row
  twice is harmless, because
- **the claim** (``execution_claim``) is the gate. ``queued -> running`` happens inside a
  transaction that holds the queue's lock (a PostgreSQL advisory lock; on SQLite the
  IMMEDIATE transaction already holds the database's write lock), and only if the row is
  eligible at that moment: for a sequential queue, nothing of the queue is running and the
  row is the head; for a throttled one, fewer than N are running and the row is among the
  first free-slot rows. A delivery out of turn (the recovery sweep, a duplicate, a message
  sent when a slot looked free) claims nothing and is dropped; whoever frees the slot
  dispatches again.

Parallel queues skip the lock: the plain conditional UPDATE is the whole claim.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import uuid
from datetime import datetime
from functools import partial

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from executions import broker
from executions.models import Execution, ExecutionStatus
from executions.notify import execution_finished_notify
from instances.models import Instance
from integrations.models import Flow, QueueType

logger = logging.getLogger(__name__)

QUEUE_ORDER = ("arrived_at", "created_at", "id")
CANCELED_ERROR = "Canceled while queued"


class Claim(enum.Enum):
    CLAIMED = "claimed"
    NOT_QUEUED = "not queued"  # already run, running, canceled, or no such row
    NOT_DUE = "not due"  # a retry whose delay has not passed
    NOT_ITS_TURN = "not its turn"  # held back by its queue


def _queue_rows(instance_id: uuid.UUID | str, flow_name: str) -> QuerySet[Execution]:
    return Execution.objects.filter(instance_id=instance_id, flow__name=flow_name)


def _due(now: datetime) -> Q:
    return Q(not_before__isnull=True) | Q(not_before__lte=now)


def queue_lock(*, instance_id: uuid.UUID | str, flow_name: str) -> None:
    """Hold the instance flow's queue lock until the surrounding transaction ends."""
    if connection.vendor == "postgresql":
        digest = hashlib.blake2b(f"{instance_id}:{flow_name}".encode(), digest_size=8).digest()
        key = int.from_bytes(digest, "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
    elif connection.vendor == "sqlite":
        # config/settings/db.py opens every transaction IMMEDIATE: BEGIN took the write
        # lock, so claims on this database are already one at a time.
        pass
    else:  # another engine: lock the instance row, coarser but correct
        Instance.objects.select_for_update().filter(pk=instance_id).exists()


def queue_eligible_ids(
    *,
    instance_id: uuid.UUID | str,
    flow_name: str,
    queue_type: str,
    limit: int | None,
    now: datetime,
) -> list[uuid.UUID]:
    """The queued rows of one instance flow that may start now, in queue order."""
    rows = _queue_rows(instance_id, flow_name)
    running = rows.filter(status=ExecutionStatus.RUNNING).count()
    if queue_type == QueueType.SEQUENTIAL:
        if running:
            return []
        head = (
            rows.filter(status=ExecutionStatus.QUEUED)
            .order_by(*QUEUE_ORDER)
            .values_list("id", "not_before")
            .first()
        )
        # Strict order: a head waiting for its retry delay holds the queue.
        if head is None or (head[1] is not None and head[1] > now):
            return []
        return [head[0]]
    slots = (limit or 1) - running
    if slots <= 0:
        return []
    # Throttled: a retry still waiting does not hold back the rows behind it.
    return list(
        rows.filter(_due(now), status=ExecutionStatus.QUEUED)
        .order_by(*QUEUE_ORDER)
        .values_list("id", flat=True)[:slots]
    )


def execution_claim(*, execution_id: uuid.UUID | str) -> tuple[Claim, Execution | None]:
    """Turn a queued execution into a running one if its queue lets it start now.
    Exactly one caller can win for a row."""
    now = timezone.now()
    # The common case in one statement: a due row of a parallel flow. The flow is matched
    # by ``flow_id IN (…)``, not through a join: with a join Django writes
    # ``WHERE id IN (SELECT …)`` and PostgreSQL, re-checking a row a concurrent claim just
    # updated, does not re-run that subquery, so both claims would win. Kept on the
    # updated table itself, ``status = 'queued'`` is re-checked and exactly one wins.
    if (
        Execution.objects.filter(
            _due(now),
            pk=execution_id,
            status=ExecutionStatus.QUEUED,
            flow__in=Flow.objects.filter(queue_type=QueueType.PARALLEL).values("pk"),
        ).update(status=ExecutionStatus.RUNNING, started_at=now, heartbeat_at=now)
        == 1
    ):
        return Claim.CLAIMED, None
    execution = (
        Execution.objects.select_related("flow")
        .only(
            "id",
            "status",
            "not_before",
            "instance_id",
            "flow__name",
            "flow__queue_type",
            "flow__queue_concurrency_limit",
        )
        .filter(pk=execution_id)
        .first()
    )
    if execution is None or execution.status != ExecutionStatus.QUEUED:
        return Claim.NOT_QUEUED, execution
    now = timezone.now()
    if execution.not_before is not None and execution.not_before > now:
        return Claim.NOT_DUE, execution
    flow = execution.flow
    claim = Execution.objects.filter(pk=execution_id, status=ExecutionStatus.QUEUED)
    if flow.queue_type == QueueType.PARALLEL:
        won = claim.update(status=ExecutionStatus.RUNNING, started_at=now, heartbeat_at=now)
        return (Claim.CLAIMED if won else Claim.NOT_QUEUED), execution
    with transaction.atomic():
        queue_lock(instance_id=execution.instance_id, flow_name=flow.name)
        now = timezone.now()
        eligible = queue_eligible_ids(
            instance_id=execution.instance_id,
            flow_name=flow.name,
            queue_type=flow.queue_type,
            limit=flow.queue_concurrency_limit,
            now=now,
        )
        if execution.id not in eligible:
            return Claim.NOT_ITS_TURN, execution
        won = claim.update(status=ExecutionStatus.RUNNING, started_at=now, heartbeat_at=now)
    return (Claim.CLAIMED if won else Claim.NOT_QUEUED), execution


def queue_dispatch(*, instance_id: uuid.UUID | str, flow_name: str) -> int:
    """Send a message for every row of the queue that may start now. Returns the count."""
    head = (
        _queue_rows(instance_id, flow_name)
        .filter(status=ExecutionStatus.QUEUED)
        .select_related("flow")
        .only("flow__queue_type", "flow__queue_concurrency_limit")
        .order_by(*QUEUE_ORDER)
        .first()
    )
    if head is None:
        return 0
    # The settings the claim will apply: those of the flow version the work came in under.
    flow = head.flow
    if flow.queue_type == QueueType.PARALLEL:
        ids = list(
            _queue_rows(instance_id, flow_name)
            .filter(_due(timezone.now()), status=ExecutionStatus.QUEUED)
            .values_list("id", flat=True)
        )
    else:
        ids = queue_eligible_ids(
            instance_id=instance_id,
            flow_name=flow_name,
            queue_type=flow.queue_type,
            limit=flow.queue_concurrency_limit,
            now=timezone.now(),
        )
    for execution_id in ids:
        broker.execution_enqueue(execution_id=execution_id)
    return len(ids)


def queue_dispatch_safely(*, instance_id: uuid.UUID | str, flow_name: str) -> None:
    """``queue_dispatch`` where a failure must not undo what already committed (after a
    run, after an accept): the recovery sweep dispatches the queue again later."""
    try:
        queue_dispatch(instance_id=instance_id, flow_name=flow_name)
    except Exception:
        logger.warning(
            "Could not dispatch the queue of %s / %r; the recovery sweep will",
            instance_id,
            flow_name,
            exc_info=True,
        )


def executions_cancel_queued_rows(
    *, rows: QuerySet[Execution], reason: str = CANCELED_ERROR, dispatch: bool = True
) -> int:
    """Cancel the queued ones among ``rows``. ``dispatch=False`` inside a transaction that
    dispatches itself (the canceling request's own execution does)."""
    targets = list(
        rows.filter(status=ExecutionStatus.QUEUED).values_list(
            "id", "instance_id", "flow__name", "flow__queue_type"
        )
    )
    if not targets:
        return 0
    # One UPDATE for all, so a sequential queue cannot start row 2 while row 1 is canceled.
    canceled = Execution.objects.filter(
        pk__in=[target[0] for target in targets], status=ExecutionStatus.QUEUED
    ).update(status=ExecutionStatus.CANCELED, ended_at=timezone.now(), error=reason)
    for execution_id, *_ in targets:
        # A sync caller may be waiting; told once the cancel has committed.
        transaction.on_commit(partial(execution_finished_notify, execution_id=execution_id))
    if not dispatch:
        return canceled
    queues = {(target[1], target[2]) for target in targets if target[3] != QueueType.PARALLEL}
    for instance_id, flow_name in queues:
        # A canceled row may have been the head its queue was waiting for.
        transaction.on_commit(
            partial(queue_dispatch_safely, instance_id=instance_id, flow_name=flow_name)
        )
    return canceled


def execution_cancel(*, execution_id: uuid.UUID | str, reason: str = CANCELED_ERROR) -> bool:
    """Cancel one queued execution (a pending retry included). Returns whether it was
    queued. A running execution is not stopped by this."""
    rows = Execution.objects.filter(pk=execution_id)
    return executions_cancel_queued_rows(rows=rows, reason=reason) == 1


def executions_cancel_queued(
    *, instance_id: uuid.UUID | str, flow_name: str | None = None, reason: str = CANCELED_ERROR
) -> int:
    """Cancel every queued execution of an instance (or of one of its flows)."""
    rows = Execution.objects.filter(instance_id=instance_id)
    if flow_name is not None:
        rows = rows.filter(flow__name=flow_name)
    return executions_cancel_queued_rows(rows=rows, reason=reason)
