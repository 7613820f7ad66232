"""Bulk replay (SPEC §10): a replay job replays, once each, the executions a filter matched.

**Selecting.** ``replay_job_create`` stores one ``ReplayItem`` per matched execution in the
transaction that creates the job, oldest first: the set is fixed when the job is made (an
execution that fails later is not added; one deleted before its turn is skipped).

**Running.** ``replay_job_run`` (the task ``executions.replay_job_run``) takes the job and
replays its pending items in order, each through ``execution_replay`` (a new execution with
``replayOf``, through its flow's queue), starting one at most every
1 / ``TRIGGERFISH_REPLAY_PER_SECOND`` seconds; an item that is skipped takes no turn.

**Idempotent.** Each item leaves ``pending`` in the one transaction that creates its replay
and counts it on the job, with the item's row locked: a second run of the task (a
duplicate delivery, a redelivery after a worker died) finds it done and moves on, so no
execution is replayed twice and the counters are the items' outcomes. One run at a time
holds the job: a run stamps ``heartbeat_at`` as it goes, and another delivery takes the
job over only once that stamp is older than ``TRIGGERFISH_LOST_HEARTBEAT_SECONDS``; the
recovery sweep re-sends a job whose run died (``replay_jobs_requeue_stale``).

**Cancel.** ``replay_job_cancel`` waits for the job's row, which a replay holds while it
commits, so a job stops between two replays, never during one.
"""

from __future__ import annotations

import enum
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from executions.models import (
    FINISHED_STATUSES,
    Execution,
    ExecutionStatus,
    ReplayDefinition,
    ReplayItem,
    ReplayItemOutcome,
    ReplayJob,
    ReplayJobStatus,
)
from executions.services import ReplayRefused, execution_replay
from instances.errors import InstanceStateError
from instances.models import Customer, Instance
from integrations.models import Integration

logger = logging.getLogger(__name__)

REPLAY_JOB_TASK = "executions.replay_job_run"
SAMPLE_SIZE = 20
# What a bulk replay may select: a replay of a run that has not finished would run it twice.
REPLAYABLE_STATUSES = tuple(str(status) for status in FINISHED_STATUSES)
REPLAY_ORDER = ("created_at", "id")
# Pending items read per query; each is still claimed on its own.
ITEM_BATCH = 200
# A job left queued (its message lost) or whose run died is re-sent once this often.
REQUEUE_MARKER = "executions:replay-job-requeued:{}"


@dataclass(frozen=True)
class ReplaySelection:
    """A bulk replay's filter, resolved: rows where the API has ids."""

    integration: Integration | None = None
    instance: Instance | None = None
    customer: Customer | None = None
    flow: str | None = None
    status: str = ExecutionStatus.FAILED
    since: datetime | None = None
    until: datetime | None = None
    error_contains: str | None = None

    def as_filter(self) -> dict[str, Any]:
        """The filter in the API's names, as a job shows it (what was given, and status)."""
        shown: dict[str, Any] = {
            "integration": str(self.integration.pk) if self.integration else None,
            "instance": str(self.instance.pk) if self.instance else None,
            "customer": str(self.customer.pk) if self.customer else None,
            "flow": self.flow,
            "status": str(self.status),
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "errorContains": self.error_contains,
        }
        return {key: value for key, value in shown.items() if value is not None}

    def only_customer(self) -> Customer | None:
        """The one customer every matched execution belongs to, if the filter says."""
        if self.customer is not None:
            return self.customer
        return self.instance.customer if self.instance is not None else None


def executions_matching(
    selection: ReplaySelection, *, executions: QuerySet[Execution]
) -> QuerySet[Execution]:
    """``executions`` (already scoped to the asker) narrowed by the filter, oldest first.
    ``since`` is inclusive and ``until`` exclusive, both on ``created_at``."""
    matched = executions.filter(status=selection.status)
    if selection.integration is not None:
        matched = matched.filter(integration=selection.integration)
    if selection.instance is not None:
        matched = matched.filter(instance=selection.instance)
    if selection.customer is not None:
        matched = matched.filter(customer=selection.customer)
    if selection.flow is not None:
        matched = matched.filter(flow__name=selection.flow)
    if selection.since is not None:
        matched = matched.filter(created_at__gte=selection.since)
    if selection.until is not None:
        matched = matched.filter(created_at__lt=selection.until)
    if selection.error_contains:
        matched = matched.filter(error__icontains=selection.error_contains)
    return matched.order_by(*REPLAY_ORDER)


def replayable(executions: QuerySet[Execution]) -> QuerySet[Execution]:
    """The finished ones, in replay order: what a job made of ``executions`` selects."""
    return executions.filter(status__in=REPLAYABLE_STATUSES).order_by(*REPLAY_ORDER)


@dataclass(frozen=True)
class ReplayPreview:
    count: int
    sample: list[uuid.UUID]


def replay_preview(executions: QuerySet[Execution]) -> ReplayPreview:
    """A dry run: how many a job would select, and the first ``SAMPLE_SIZE`` of them."""
    chosen = replayable(executions)
    return ReplayPreview(
        count=chosen.count(), sample=list(chosen.values_list("id", flat=True)[:SAMPLE_SIZE])
    )


class ReplayTooMany(Exception):
    """The filter matches more than ``TRIGGERFISH_REPLAY_MAX_EXECUTIONS``."""

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(
            f"The filter matches {count} executions, more than the limit of {limit} "
            "(TRIGGERFISH_REPLAY_MAX_EXECUTIONS); narrow it, e.g. with since and until."
        )
        self.count = count
        self.limit = limit


def replay_job_create(
    *,
    executions: QuerySet[Execution],
    filter_shown: dict[str, Any],
    definition: ReplayDefinition | str = ReplayDefinition.CURRENT,
    customer: Customer | None = None,
    user: Any = None,
) -> ReplayJob:
    """A queued job of the finished ones among ``executions``, its items stored with it, its
    task sent once this commits. ``customer`` is the one customer the selection is limited
    to (the job's tenancy); ``filter_shown`` is what the job says it selected."""
    limit = settings.TRIGGERFISH_REPLAY_MAX_EXECUTIONS
    with transaction.atomic():
        ids = list(replayable(executions).values_list("id", flat=True)[: limit + 1])
        if len(ids) > limit:
            raise ReplayTooMany(replayable(executions).count(), limit)
        job = ReplayJob(
            definition=definition,
            filter=filter_shown,
            customer=customer,
            created_by=user if user is not None and user.is_authenticated else None,
            total=len(ids),
        )
        job.full_clean(exclude=["filter"])  # an empty filter (every failed one) is valid
        job.save()
        ReplayItem.objects.bulk_create(
            (
                ReplayItem(job=job, position=position, execution_id=execution_id)
                for position, execution_id in enumerate(ids)
            ),
            batch_size=1000,
        )
        transaction.on_commit(lambda: replay_job_enqueue(job_id=job.pk))
    return job


def replay_job_enqueue(*, job_id: uuid.UUID | str) -> None:
    """Send the job's task. Failure is logged, not raised: the job is committed and the
    recovery sweep sends it once the broker answers again."""
    task = current_app.tasks[REPLAY_JOB_TASK]
    try:
        task.delay(str(job_id))
    except Exception:  # the broker's client raises many types; none may lose the job
        logger.warning("Could not enqueue replay job %s; the recovery sweep will.", job_id)


def replay_job_cancel(*, job_id: uuid.UUID | str) -> bool:
    """Stop a queued or running job before its next replay. False if it had ended."""
    return bool(
        ReplayJob.objects.filter(
            pk=job_id, status__in=(ReplayJobStatus.QUEUED, ReplayJobStatus.RUNNING)
        ).update(status=ReplayJobStatus.CANCELED, ended_at=timezone.now())
    )


def _lost_before(now: datetime) -> datetime:
    return now - timedelta(seconds=settings.TRIGGERFISH_LOST_HEARTBEAT_SECONDS)


def _job_take(job_id: uuid.UUID | str) -> bool:
    """Claim the job for this run: a queued one, or a running one whose run went silent."""
    now = timezone.now()
    lost = Q(status=ReplayJobStatus.RUNNING) & (
        Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=_lost_before(now))
    )
    return bool(
        ReplayJob.objects.filter(pk=job_id)
        .filter(Q(status=ReplayJobStatus.QUEUED) | lost)
        .update(
            status=ReplayJobStatus.RUNNING,
            heartbeat_at=now,
            started_at=Coalesce(F("started_at"), Value(now)),
        )
    )


def _job_stamp(job_id: uuid.UUID | str) -> bool:
    """Stamp the heartbeat of a job still running; False once it was canceled."""
    return bool(
        ReplayJob.objects.filter(pk=job_id, status=ReplayJobStatus.RUNNING).update(
            heartbeat_at=timezone.now()
        )
    )


class _Step(enum.Enum):
    CREATED = "created"
    SKIPPED = "skipped"
    ALREADY_DONE = "already done"  # by another run of the task
    STOPPED = "stopped"  # the job is no longer running (canceled)


def _item_replay(job_id: uuid.UUID | str, item_id: int, definition: str) -> _Step:
    """Replay one item, or skip it with the reason, in one transaction with its outcome and
    the job's counters."""
    with transaction.atomic():
        # The job's row first: a cancel waits for it, so it lands between two replays.
        job = (
            ReplayJob.objects.select_for_update()
            .filter(pk=job_id, status=ReplayJobStatus.RUNNING)
            .only("id")
            .first()
        )
        if job is None:
            return _Step.STOPPED
        item = (
            ReplayItem.objects.select_for_update()
            .filter(pk=item_id, outcome=ReplayItemOutcome.PENDING)
            .first()
        )
        if item is None:
            return _Step.ALREADY_DONE
        source = (
            Execution.objects.select_related("instance__integration", "integration", "flow")
            .filter(pk=item.execution_id)
            .first()
        )
        try:
            if source is None:
                raise ReplayRefused("The execution was deleted after the job selected it.")
            replay = execution_replay(execution=source, definition=definition)
        except (ReplayRefused, InstanceStateError) as error:
            item.outcome, item.reason, step = ReplayItemOutcome.SKIPPED, str(error), _Step.SKIPPED
        else:
            item.outcome, item.replay, step = ReplayItemOutcome.CREATED, replay, _Step.CREATED
        item.save(update_fields=["outcome", "reason", "replay"])
        counter = "created" if step is _Step.CREATED else "skipped"
        ReplayJob.objects.filter(pk=job_id).update(
            **{counter: F(counter) + 1}, heartbeat_at=timezone.now()
        )
    return step


def _wait_until(
    job_id: uuid.UUID | str,
    deadline: float,
    *,
    sleep: Callable[[float], object],
    clock: Callable[[], float],
) -> bool:
    """Sleep until ``deadline`` (on ``clock``), stamping the heartbeat through a long wait
    (a slow rate) so the job is not taken for lost; False once it was canceled."""
    while (remaining := deadline - clock()) > 0:
        chunk = min(remaining, settings.TRIGGERFISH_HEARTBEAT_SECONDS)
        sleep(chunk)
        if chunk < remaining and not _job_stamp(job_id):
            return False
    return True


def replay_job_run(
    *,
    job_id: uuid.UUID | str,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Run the job to its end, or until it is canceled; a job another run holds, or one
    that has ended, is left alone."""
    job_id = uuid.UUID(str(job_id))
    if not _job_take(job_id):
        return
    definition = ReplayJob.objects.values_list("definition", flat=True).get(pk=job_id)
    interval = 1.0 / settings.TRIGGERFISH_REPLAY_PER_SECOND
    next_start = clock()
    while True:
        pending = list(
            ReplayItem.objects.filter(job_id=job_id, outcome=ReplayItemOutcome.PENDING)
            .order_by("position")
            .values_list("pk", flat=True)[:ITEM_BATCH]
        )
        if not pending:
            break
        for item_id in pending:
            if not _wait_until(job_id, next_start, sleep=sleep, clock=clock):
                return
            started = clock()
            step = _item_replay(job_id, item_id, definition)
            if step is _Step.STOPPED:
                return
            if step is _Step.CREATED:
                next_start = started + interval
    ReplayJob.objects.filter(pk=job_id, status=ReplayJobStatus.RUNNING).update(
        status=ReplayJobStatus.DONE, ended_at=timezone.now()
    )


def replay_jobs_requeue_stale(*, now: datetime, older_than_seconds: float) -> int:
    """Re-send jobs left queued longer than ``older_than_seconds`` (their message lost) and
    running jobs whose run went silent (its worker died). Each is re-sent at most once per
    ``older_than_seconds``; a duplicate is harmless (``_job_take``). Returns the count."""
    stale = ReplayJob.objects.filter(
        Q(status=ReplayJobStatus.QUEUED, created_at__lt=now - timedelta(seconds=older_than_seconds))
        | Q(status=ReplayJobStatus.RUNNING, heartbeat_at__lt=_lost_before(now))
    ).values_list("id", flat=True)[:100]
    sent = 0
    for job_id in stale:
        if cache.add(REQUEUE_MARKER.format(job_id), 1, timeout=older_than_seconds):
            replay_job_enqueue(job_id=job_id)
            sent += 1
    return sent
