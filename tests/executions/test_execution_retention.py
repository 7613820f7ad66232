"""Execution retention: finished executions past their retention are deleted with their
steps, logs and files; ``retention: {storePayloads: false}`` drops payloads at run end."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from api.services import api_token_create
from executions.models import Execution, ExecutionLog, StepResult, results_storage
from executions.queues import execution_cancel
from executions.results import result_object_find, result_object_save
from executions.retention import executions_prune, payloads_drop_left, prune_results
from executions.runner import execution_run
from executions.services import execution_create, execution_replay
from tests.fixtures.executions import execution_make
from triggers.models import IdempotencyRecord, ScheduleFire

pytestmark = pytest.mark.django_db

BIG = "x" * 70_000  # over the inline limit: stored as a file


def finished(*, ended_days_ago: float, steps=None, **options) -> Execution:
    execution = execution_make(
        steps=steps or [("Big", "flow.return", {"data": BIG}), ("R", "flow.return", {"data": 1})],
        payload={"body": {"secret": "card 4242"}},
        **options,
    )
    execution_run(execution_id=str(execution.pk))
    Execution.objects.filter(pk=execution.pk).update(
        ended_at=timezone.now() - timedelta(days=ended_days_ago)
    )
    return Execution.objects.get(pk=execution.pk)


def test_old_finished_executions_go_with_steps_logs_and_files_and_recent_ones_stay():
    old = finished(ended_days_ago=31)
    recent = finished(ended_days_ago=29)
    big_file = old.steps.get(name="Big").result_file.name
    result_object_save(execution_id=old.pk, body=b"answer", content_type="text/plain")
    assert results_storage().exists(big_file)

    assert executions_prune() == 1

    assert list(Execution.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not StepResult.objects.filter(execution_id=old.pk).exists()
    assert not ExecutionLog.objects.filter(execution_id=old.pk).exists()
    assert not results_storage().exists(big_file)
    assert result_object_find(execution_id=old.pk) is None
    assert StepResult.objects.filter(execution=recent).count() == 2
    assert executions_prune() == 0


def test_age_is_measured_on_when_the_run_ended_and_unfinished_runs_stay():
    long_queued = execution_make(steps=[("R", "flow.return", {})])
    Execution.objects.filter(pk=long_queued.pk).update(
        created_at=timezone.now() - timedelta(days=90)
    )
    # Created long ago but ended yesterday: kept.
    late = finished(ended_days_ago=1)
    Execution.objects.filter(pk=late.pk).update(created_at=timezone.now() - timedelta(days=90))
    assert executions_prune() == 0
    assert Execution.objects.count() == 2


def test_the_period_is_the_setting_and_an_integrations_days_override_it(settings):
    settings.TRIGGERFISH_EXECUTION_RETENTION_DAYS = 10
    default_old = finished(ended_days_ago=11)
    default_kept = finished(ended_days_ago=9)
    short = finished(ended_days_ago=3)
    short.integration.retention_days = 2
    short.integration.save()
    long = finished(ended_days_ago=50)
    long.integration.retention_days = 60
    long.integration.save()

    assert executions_prune() == 2

    left = set(Execution.objects.values_list("pk", flat=True))
    assert left == {default_kept.pk, long.pk}
    assert default_old.pk not in left and short.pk not in left


def test_rows_of_other_apps_that_point_at_a_deleted_execution_are_handled():
    old = finished(ended_days_ago=40, steps=[("R", "flow.return", {})])
    replay = execution_replay(execution=old)
    retry = execution_create(
        instance=old.instance,
        flow=old.flow,
        trigger_kind="manual",
        payload={},
        enqueue=False,
        retry_of=old,
        attempt=2,
    )
    IdempotencyRecord.objects.create(endpoint_token="t", key="k", execution=old)
    fire = ScheduleFire.objects.create(
        instance=old.instance,
        flow_name=old.flow.name,
        scheduled_time=timezone.now(),
        outcome="started",
        execution=old,
    )

    assert executions_prune() == 1

    assert not Execution.objects.filter(pk=old.pk).exists()
    assert Execution.objects.get(pk=replay.pk).replay_of_id is None
    assert Execution.objects.get(pk=retry.pk).retry_of_id is None
    assert not IdempotencyRecord.objects.exists()
    fire.refresh_from_db()
    assert fire.execution_id is None


def test_batches_bound_a_run_and_the_rest_goes_next_time():
    executions = [finished(ended_days_ago=40, steps=[("R", "flow.return", {})]) for _ in range(5)]
    Execution.objects.update(integration=executions[0].integration)
    assert executions_prune(batch_size=2, limit=3) == 3
    assert Execution.objects.count() == 2
    assert executions_prune(batch_size=2, limit=3) == 2
    assert Execution.objects.count() == 0


def test_the_hourly_task_deletes_old_executions():
    finished(ended_days_ago=31)
    prune_results()
    assert Execution.objects.count() == 0


def _not_stored(execution: Execution) -> None:
    execution.integration.retention_store_payloads = False
    execution.integration.save()


def test_store_payloads_false_drops_payload_and_step_results_at_run_end():
    execution = execution_make(
        steps=[("Big", "flow.return", {"data": BIG}), ("R", "log.write", {"message": "hi"})],
        payload={"body": {"secret": "card 4242"}},
    )
    _not_stored(execution)

    execution_run(execution_id=str(execution.pk))

    execution.refresh_from_db()
    assert execution.status == "succeeded" and execution.started_at and execution.ended_at
    assert execution.payload_dropped and execution.trigger_payload == {}
    steps = list(execution.steps.order_by("position"))
    assert [
        (s.name, s.status, s.result, s.result_file.name or "", s.result_size) for s in steps
    ] == [
        ("Big", "succeeded", None, "", 0),
        ("R", "succeeded", None, "", 0),
    ]
    assert not results_storage().exists(f"executions/{execution.pk}/0.json")
    assert execution.logs.filter(message="hi").exists()


def test_store_payloads_false_keeps_errors_and_logs_of_a_failed_run():
    execution = execution_make(steps=[("F", "flow.fail", {"message": "boom"})])
    _not_stored(execution)
    execution_run(execution_id=str(execution.pk))
    execution.refresh_from_db()
    assert execution.status == "failed" and "boom" in execution.error
    assert execution.payload_dropped and execution.trigger_payload == {}
    assert execution.steps.get().error and execution.logs.filter(level="error").exists()


def test_a_run_ended_without_the_runner_has_its_payload_dropped_by_the_hourly_prune():
    execution = execution_make(steps=[("R", "flow.return", {})], payload={"body": {"a": 1}})
    _not_stored(execution)
    assert execution_cancel(execution_id=execution.pk)
    stored = execution_make(steps=[("R", "flow.return", {})], payload={"body": {"a": 1}})
    assert execution_cancel(execution_id=stored.pk)

    assert payloads_drop_left() == 1

    execution.refresh_from_db()
    assert execution.payload_dropped and execution.trigger_payload == {}
    assert execution.status == "canceled"
    stored.refresh_from_db()
    assert not stored.payload_dropped and stored.trigger_payload["body"] == {"a": 1}
    assert payloads_drop_left() == 0


def test_replay_of_a_dropped_payload_is_refused_with_409_naming_the_reason(staff_user):
    execution = execution_make(steps=[("R", "flow.return", {})])
    _not_stored(execution)
    execution_run(execution_id=str(execution.pk))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=staff_user)}")
    before = Execution.objects.count()

    response = client.post(f"/api/v1/executions/{execution.pk}/replay")

    assert response.status_code == 409
    assert "storePayloads: false" in response.json()["error"]
    assert Execution.objects.count() == before
