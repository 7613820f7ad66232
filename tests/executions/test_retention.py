"""Result retention: stored results go after TRIGGERFISH_RESULT_RETENTION_DAYS, the
execution's record stays."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from config.celery import app
from executions.models import Execution, StepResult, results_storage
from executions.notify import execution_finished_notify, notify_markers_prune
from executions.results import result_object_find, result_object_key
from executions.retention import execution_results_prune, execution_results_pruned
from executions.runner import execution_run
from tests.fixtures.executions import execution_make
from triggers.sync.wait import finished_response

pytestmark = pytest.mark.django_db

BIG = "x" * 70_000  # over the default 64 KiB inline limit: stored as a file


def redirect_answered(execution: Execution) -> None:
    """What a synchronous caller answered by redirect leaves behind: the final result
    object, which the web side writes for a small result (the runner stores only large
    ones)."""
    response = finished_response(Execution.objects.get(pk=execution.pk), prefer_direct=False)
    assert response.status_code == 303


def finished_sync_run(*, ended_days_ago: float, data: str = "small") -> Execution:
    execution = execution_make(
        steps=[
            ("Big", "flow.return", {"data": BIG}),
            ("Reply", "flow.return", {"data": data}),
        ]
    )
    Execution.objects.filter(pk=execution.pk).update(synchronous=True)
    execution_run(execution_id=str(execution.pk))
    redirect_answered(execution)
    Execution.objects.filter(pk=execution.pk).update(
        ended_at=timezone.now() - timedelta(days=ended_days_ago)
    )
    return Execution.objects.get(pk=execution.pk)


def test_results_past_retention_are_deleted_and_the_record_kept():
    old = finished_sync_run(ended_days_ago=31)
    big = old.steps.get(name="Big")
    assert big.result_file and results_storage().exists(big.result_file.name)
    assert result_object_find(execution_id=old.pk) is not None
    before = Execution.objects.values("status", "started_at", "ended_at", "error").get(pk=old.pk)

    assert execution_results_prune() == 1

    after = Execution.objects.values("status", "started_at", "ended_at", "error").get(pk=old.pk)
    assert after == before and after["status"] == "succeeded"
    assert not results_storage().exists(big.result_file.name)
    assert result_object_find(execution_id=old.pk) is None
    assert not results_storage().exists(result_object_key(execution_id=old.pk))
    steps = list(StepResult.objects.filter(execution=old).order_by("position"))
    assert [(s.name, s.status, s.result, s.result_file.name or "") for s in steps] == [
        ("Big", "succeeded", None, ""),
        ("Reply", "succeeded", None, ""),
    ]
    assert all(s.started_at and s.ended_at for s in steps)
    assert execution_results_pruned(Execution.objects.get(pk=old.pk))


def test_results_within_retention_are_kept():
    recent = finished_sync_run(ended_days_ago=29)
    assert execution_results_prune() == 0
    assert recent.steps.get(name="Reply").result == {"data": "small"}
    assert result_object_find(execution_id=recent.pk) is not None
    assert not execution_results_pruned(recent)


def test_the_period_is_the_setting(settings):
    settings.TRIGGERFISH_RESULT_RETENTION_DAYS = 7
    finished_sync_run(ended_days_ago=8)
    finished_sync_run(ended_days_ago=6)
    assert execution_results_prune() == 1


def test_a_pruned_execution_is_not_pruned_again():
    finished_sync_run(ended_days_ago=40)
    assert execution_results_prune() == 1
    assert execution_results_prune() == 0


def test_a_null_result_counts_as_stored():
    # log.write returns null: still a stored value (and a sync object) until pruned.
    execution = execution_make(steps=[("Log", "log.write", {"message": "hi"})])
    Execution.objects.filter(pk=execution.pk).update(synchronous=True)
    execution_run(execution_id=str(execution.pk))
    redirect_answered(execution)
    Execution.objects.filter(pk=execution.pk).update(ended_at=timezone.now() - timedelta(days=31))
    assert result_object_find(execution_id=execution.pk) is not None
    assert execution_results_prune() == 1
    assert result_object_find(execution_id=execution.pk) is None


def test_unfinished_executions_are_left_alone():
    execution = execution_make(steps=[("Reply", "flow.return", {"data": 1})])
    Execution.objects.filter(pk=execution.pk).update(created_at=timezone.now() - timedelta(days=90))
    assert execution_results_prune() == 0


def test_old_notify_markers_are_pruned_and_recent_ones_kept(settings):
    settings.REDIS_URL = ""  # markers are the embedded (no Redis) mechanism
    execution_finished_notify(execution_id="old-marker")
    execution_finished_notify(execution_id="new-marker")
    marker_dir = Path(django_settings.TRIGGERFISH_DATA_DIR) / "notify"
    an_hour_ago = time.time() - 3700
    os.utime(marker_dir / "old-marker", (an_hour_ago, an_hour_ago))
    assert notify_markers_prune(older_than_seconds=3600) >= 1
    assert not (marker_dir / "old-marker").exists()
    assert (marker_dir / "new-marker").exists()


def test_the_prune_task_is_scheduled_and_registered():
    entry = django_settings.CELERY_BEAT_SCHEDULE["prune-results"]
    assert entry["task"] == "executions.prune_results"
    app.loader.import_default_modules()
    assert "executions.prune_results" in app.tasks
