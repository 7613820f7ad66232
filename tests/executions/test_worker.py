"""End to end through a real Celery worker subprocess (``celery_worker_process``).

With the default settings (SQLite, filesystem broker) these run in the plain test pass; with
DATABASE_URL/CELERY_BROKER_URL pointing at PostgreSQL/Redis they exercise those instead.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from executions.models import Execution
from executions.recovery import executions_requeue_stale
from executions.results import execution_final_result
from executions.services import execution_create
from tests.fixtures.executions import execution_make, flow_make
from tests.fixtures.worker import wait_for_execution

pytestmark = pytest.mark.django_db(transaction=True)


def test_worker_runs_a_created_execution(celery_worker_process):
    instance, flow = flow_make(
        steps=[
            ("Split", "text.split", {"text": "{{ trigger.body.data.csv }}", "separator": ","}),
            ("Reply", "flow.return", {"data": "{{ steps.Split }}", "statusCode": 201}),
        ]
    )
    execution = execution_create(
        instance=instance,
        flow=flow,
        trigger_kind="webhook",
        payload={"body": {"data": {"csv": "a,b"}}},
    )
    execution = wait_for_execution(execution.id)
    assert execution.status == "succeeded", execution.error or celery_worker_process.log
    assert [s.name for s in execution.steps.order_by("position")] == ["Split", "Reply"]
    assert execution_final_result(execution) == {"data": ["a", "b"], "statusCode": 201}


def test_worker_records_a_failure(celery_worker_process):
    execution = execution_make(steps=[("Fail", "flow.fail", {"message": "nope"})], enqueue=True)
    execution = wait_for_execution(execution.id)
    assert execution.status == "failed"
    assert execution.error == "nope"


def test_stale_queued_execution_is_requeued_and_run(celery_worker_process):
    # Accepted but never enqueued: as if the broker was down at commit time.
    execution = execution_make(steps=[("Reply", "flow.return", {"data": "late"})], enqueue=False)
    Execution.objects.filter(pk=execution.pk).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )
    assert executions_requeue_stale(older_than_seconds=60) == 1
    execution = wait_for_execution(execution.id)
    assert execution.status == "succeeded"
    assert execution_final_result(execution) == {"data": "late"}


def test_worker_stores_a_large_binary_result_readable_here(celery_worker_process, http_peer):
    payload = bytes(range(256)) * 512  # 128 KiB, over the default 64 KiB inline limit
    http_peer.respond("/big", body=payload, content_type="application/octet-stream")
    execution = execution_make(
        steps=[("Get", "http.request", {"url": http_peer.url("/big"), "responseType": "binary"})],
        enqueue=True,
    )
    execution = wait_for_execution(execution.id)
    assert execution.status == "succeeded", execution.error
    step = execution.steps.get()
    try:
        assert step.result_file.name == f"executions/{execution.id}/0.json"
        assert execution_final_result(execution)["data"] == payload
    finally:
        step.result_file.delete(save=False)
