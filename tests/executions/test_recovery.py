"""The recovery sweep, in-process: which rows it re-enqueues and which it fails."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from executions.models import Execution
from executions.recovery import LOST_WORKER_ERROR, executions_fail_lost, executions_requeue_stale
from tests.fixtures.executions import execution_make

pytestmark = pytest.mark.django_db

STEPS = [("Reply", "flow.return", {})]


def backdate(execution: Execution, **fields) -> None:
    Execution.objects.filter(pk=execution.pk).update(**fields)


def test_only_queued_rows_older_than_the_threshold_are_requeued(settings):
    settings.TRIGGERFISH_REQUEUE_AFTER_SECONDS = 60
    stale = execution_make(steps=STEPS)
    fresh = execution_make(steps=STEPS)
    finished = execution_make(steps=STEPS)
    long_ago = timezone.now() - timedelta(seconds=120)
    backdate(stale, created_at=long_ago)
    backdate(finished, created_at=long_ago, status="succeeded")
    assert fresh.status == "queued"
    assert executions_requeue_stale() == 1


def test_a_row_is_not_resent_again_within_one_interval():
    stale = execution_make(steps=STEPS)
    backdate(stale, created_at=timezone.now() - timedelta(seconds=30))
    assert executions_requeue_stale(older_than_seconds=10) == 1
    assert executions_requeue_stale(older_than_seconds=10) == 0


def test_rows_running_far_too_long_are_failed_as_lost(settings):
    settings.TRIGGERFISH_LOST_RUNNING_AFTER_SECONDS = 3600
    lost = execution_make(steps=STEPS)
    busy = execution_make(steps=STEPS)
    now = timezone.now()
    backdate(lost, status="running", started_at=now - timedelta(hours=2))
    backdate(busy, status="running", started_at=now - timedelta(minutes=5))
    executions_requeue_stale()
    lost.refresh_from_db()
    busy.refresh_from_db()
    assert lost.status == "failed"
    assert lost.error == LOST_WORKER_ERROR == "Worker lost while running"
    assert lost.ended_at is not None
    assert lost.logs.filter(level="error", message=LOST_WORKER_ERROR).exists()
    assert busy.status == "running"
    assert executions_fail_lost() == 0
