"""Result retention: results are kept ``TRIGGERFISH_RESULT_RETENTION_DAYS`` (default 30),
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
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from executions.models import FINISHED_STATUSES, Execution, StepResult, StepStatus
from executions.notify import notify_markers_prune
from executions.results import result_object_delete

logger = logging.getLogger(__name__)

# Bounds one run's work; a larger backlog (a first run on old data) drains over the next runs.
PRUNE_BATCH = 500

# What else the hourly prune clears, registered by the apps above this one (the webhook
# edge's idempotency keys: ``TriggersConfig.ready()``), so this module imports none of them.
_extra_prunes: list[Callable[[], object]] = []


def retention_prune_register(prune: Callable[[], object]) -> None:
    """Run ``prune`` (no arguments) at every ``executions.prune_results``, after the results
    and the notify markers. Registering the same function again changes nothing."""
    if prune not in _extra_prunes:
        _extra_prunes.append(prune)


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
    """Whether a succeeded execution's result was pruned (its last step stores nothing)."""
    last = StepResult.objects.filter(execution=execution).order_by("-position").first()
    return (
        last is not None
        and last.status == StepStatus.SUCCEEDED
        and last.result_size == 0
        and not last.result_file
    )


@shared_task(name="executions.prune_results", ignore_result=True)
def prune_results() -> int:
    """Beat's entry point (CELERY_BEAT_SCHEDULE): results past retention, old notify
    markers, and what the other apps registered (``retention_prune_register``: idempotency
    keys past their 24 h window)."""
    pruned = execution_results_prune()
    notify_markers_prune()
    for prune in _extra_prunes:
        prune()
    return pruned
