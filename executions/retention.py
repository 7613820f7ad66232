"""Retention, run hourly by ``prune_results`` (docs/operations.md, Retention).

Executions: a finished execution is deleted with everything it has (steps, log lines,
result files and objects) once it *ended* more than its integration's ``retention.days``
ago, else ``TRIGGERFISH_EXECUTION_RETENTION_DAYS`` (default 30). The integration is the
version the execution ran: its definition is the run's record. Deletion goes in batches of
``EXECUTION_BATCH``, each its own short transaction (files first, then the rows), at most
``EXECUTIONS_PER_RUN`` or ``RUN_SECONDS`` per hourly run, so a backlog drains over the
next runs without holding locks for long. Rows of other apps that point at an execution
are handled by their foreign keys' ``on_delete`` (Django's collector: idempotency records
go, schedule fires and replays keep their row with the link emptied), so this module
imports none of those apps.

``storePayloads: false``: the runner empties the trigger payload and step results in its
final write; ``payloads_drop_left`` catches the runs that ended some other way (canceled,
failed as lost, a crash).

Results: results are kept ``TRIGGERFISH_RESULT_RETENTION_DAYS`` (default 30),
then deleted by a scheduled task; executions keep their metadata.

What goes: each step's stored value (inline ``result`` and its file in the results
storage) and the final result object a synchronous caller is redirected to. What stays:
the execution (status, timings, error, trigger payload), its steps' names, statuses,
timings and errors, and its log lines, so the history still says what ran and how it ended.

A pruned step has ``result`` null, no ``result_file`` and ``result_size`` 0. Every stored
value has a size of at least 4 (``null`` serialized), so ``result_size > 0`` marks what is
still to prune, and finished work is never looked at again.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from executions.models import FINISHED_STATUSES, Execution, StepResult, StepStatus
from executions.notify import notify_markers_prune
from executions.results import (
    execution_payloads_clear,
    result_object_delete,
    result_object_find,
    step_result_files_delete,
)
from integrations.models import Integration

logger = logging.getLogger(__name__)

# Bounds one run's work; a larger backlog (a first run on old data) drains over the next runs.
PRUNE_BATCH = 500

# One batch: one SELECT of ids, its files, then one transaction of a few DELETEs and
# UPDATEs by primary key (tens of ms, docs/performance.md). Bounds of one hourly run: a
# 100,000-execution backlog drains in one run.
EXECUTION_BATCH = 1000
EXECUTIONS_PER_RUN = 100_000
RUN_SECONDS = 600

# What else the hourly prune clears, registered by the apps above this one (the webhook
# edge's idempotency keys: ``TriggersConfig.ready()``), so this module imports none of them.
_extra_prunes: list[Callable[[], object]] = []


def retention_prune_register(prune: Callable[[], object]) -> None:
    """Run ``prune`` (no arguments) at every ``executions.prune_results``, after the results
    and the notify markers. Registering the same function again changes nothing."""
    if prune not in _extra_prunes:
        _extra_prunes.append(prune)


def _retention_days() -> dict[uuid.UUID, tuple[int, bool]]:
    """Each integration version: days its executions are kept, and whether payloads are."""
    default = settings.TRIGGERFISH_EXECUTION_RETENTION_DAYS
    return {
        row["id"]: (row["retention_days"] or default, row["retention_store_payloads"])
        for row in Integration.objects.values("id", "retention_days", "retention_store_payloads")
    }


def executions_prune(
    *,
    now: datetime | None = None,
    batch_size: int = EXECUTION_BATCH,
    limit: int = EXECUTIONS_PER_RUN,
    seconds: float = RUN_SECONDS,
) -> int:
    """Delete finished executions that ended longer ago than their retention, in batches.
    Stops after ``limit`` executions or ``seconds``; returns how many were deleted."""
    now = now or timezone.now()
    clock = time.monotonic()
    deleted = 0
    for integration_id, (days, _) in _retention_days().items():
        cutoff = now - timedelta(days=days)
        while deleted < limit and time.monotonic() - clock < seconds:
            # The retention index: (integration, payload_dropped, ended_at), both values of
            # the middle column.
            batch = list(
                Execution.objects.filter(
                    integration_id=integration_id,
                    payload_dropped__in=(False, True),
                    ended_at__lt=cutoff,
                    status__in=FINISHED_STATUSES,
                ).values_list("id", flat=True)[: min(batch_size, limit - deleted)]
            )
            if not batch:
                break
            executions_delete(execution_ids=batch)
            deleted += len(batch)
    if deleted:
        logger.info("Deleted %d execution(s) past retention", deleted)
    return deleted


def executions_delete(*, execution_ids: Sequence[uuid.UUID | str]) -> None:
    """Delete these executions with their steps, logs and stored files. Files first: a
    failure part-way leaves rows that the next run finds and deletes again."""
    step_result_files_delete(execution_ids=execution_ids)
    for execution_id in execution_ids:
        result_object_delete(execution_id=execution_id)
    with transaction.atomic():
        # The collector deletes the steps and log lines first, then applies every other
        # foreign key's on_delete (other apps' rows included), each as one query over the
        # batch; ``only`` keeps the payloads out of memory.
        Execution.objects.filter(pk__in=execution_ids).only("id").delete()


def payloads_drop_left(
    *, batch_size: int = EXECUTION_BATCH, limit: int = EXECUTIONS_PER_RUN
) -> int:
    """Drop the payloads and step results of finished executions of ``storePayloads: false``
    integrations that still have them (ended without the runner's final write: canceled,
    failed as lost, a crash before it). Returns how many were dropped."""
    integration_ids = [key for key, (_, stored) in _retention_days().items() if not stored]
    dropped = 0
    while integration_ids and dropped < limit:
        batch = list(
            Execution.objects.filter(
                integration_id__in=integration_ids,
                payload_dropped=False,
                ended_at__isnull=False,
                status__in=FINISHED_STATUSES,
            ).values_list("id", flat=True)[:batch_size]
        )
        if not batch:
            break
        step_result_files_delete(execution_ids=batch)
        with transaction.atomic():
            execution_payloads_clear(execution_ids=batch)
        dropped += len(batch)
    if dropped:
        logger.info("Dropped the payloads of %d execution(s) (storePayloads: false)", dropped)
    return dropped


def execution_results_prune(
    *, now: datetime | None = None, older_than_days: int | None = None
) -> int:
    """Delete stored results of executions that ended more than the retention period ago.
    Returns how many executions were pruned."""
    now = now or timezone.now()
    days = (
        older_than_days
        if older_than_days is not None
        else settings.TRIGGERFISH_RESULT_RETENTION_DAYS
    )
    cutoff = now - timedelta(days=days)
    execution_ids = list(
        Execution.objects.filter(status__in=FINISHED_STATUSES, ended_at__lt=cutoff)
        .filter(steps__result_size__gt=0)
        .order_by("ended_at")
        .values_list("id", flat=True)
        .distinct()[:PRUNE_BATCH]
    )
    for execution_id in execution_ids:
        execution_results_delete(execution_id=execution_id)
    if execution_ids:
        logger.info(
            "Pruned the results of %d execution(s) ended before %s", len(execution_ids), cutoff
        )
    return len(execution_ids)


def execution_results_delete(*, execution_id: uuid.UUID | str) -> None:
    """Delete one execution's stored results. Files first, then the rows: a failure part-way
    leaves rows still marked for pruning, so the next run finishes the job."""
    result_object_delete(execution_id=execution_id)
    stored_files = (
        StepResult.objects.filter(execution_id=execution_id)
        .exclude(result_file__isnull=True)
        .exclude(result_file="")
    )
    for step in stored_files:
        step.result_file.delete(save=False)
    StepResult.objects.filter(execution_id=execution_id).update(
        result=None, result_file="", result_size=0
    )


def execution_results_pruned(execution: Execution) -> bool:
    """Whether a succeeded execution's result was pruned (its last step stores nothing, nor
    is there a result object: a dropped payload's synchronous answer keeps its object)."""
    last = StepResult.objects.filter(execution=execution).order_by("-position").first()
    return (
        last is not None
        and last.status == StepStatus.SUCCEEDED
        and last.result_size == 0
        and not last.result_file
        and result_object_find(execution_id=execution.pk) is None
    )


@shared_task(name="executions.prune_results", ignore_result=True)
def prune_results() -> int:
    """Beat's entry point (CELERY_BEAT_SCHEDULE): payloads left to drop, executions past
    retention, results past retention, old notify markers, and what the other apps
    registered (``retention_prune_register``: idempotency keys past their 24 h window)."""
    payloads_drop_left()
    executions_prune()
    pruned = execution_results_prune()
    notify_markers_prune()
    for prune in _extra_prunes:
        prune()
    return pruned
