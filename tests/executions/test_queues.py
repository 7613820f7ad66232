"""Queue claims, dispatch, dedupe ids, retries and cancel, in-process (docs/reliability.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from executions.models import Execution
from executions.queues import (
    Claim,
    execution_cancel,
    execution_claim,
    executions_cancel_queued,
    queue_dispatch,
)
from executions.recovery import executions_fail_lost, executions_requeue_stale
from executions.retries import execution_retry_schedule, retry_delay_seconds
from executions.runner import execution_run
from executions.services import execution_create
from instances.models import Endpoint
from integrations.models import Flow, Integration
from tests.fixtures.domain import definition
from tests.fixtures.executions import flow_make

pytestmark = pytest.mark.django_db

STEPS = [("Reply", "flow.return", {"data": "ok"})]


def _queue(queue_type: str, limit: int | None = None, steps=STEPS, **flow_fields):
    instance, flow = flow_make(steps=steps)
    flow.queue_type = queue_type
    flow.queue_concurrency_limit = limit
    for name, value in flow_fields.items():
        setattr(flow, name, value)
    flow.save()
    return instance, flow


def _make(instance, flow, count: int) -> list[Execution]:
    return [
        execution_create(
            instance=instance, flow=flow, trigger_kind="manual", payload={}, enqueue=False
        )
        for _ in range(count)
    ]


def _status(execution: Execution) -> str:
    execution.refresh_from_db()
    return execution.status


def test_sequential_claim_refuses_all_but_the_head_and_anything_while_one_runs():
    instance, flow = _queue("sequential")
    first, second, third = _make(instance, flow, 3)
    assert execution_claim(execution_id=second.id)[0] is Claim.NOT_ITS_TURN
    assert execution_claim(execution_id=first.id)[0] is Claim.CLAIMED
    # The head is running: its successor waits, even though it is now first in line.
    assert execution_claim(execution_id=second.id)[0] is Claim.NOT_ITS_TURN
    Execution.objects.filter(pk=first.pk).update(status="succeeded")
    assert execution_claim(execution_id=third.id)[0] is Claim.NOT_ITS_TURN
    assert execution_claim(execution_id=second.id)[0] is Claim.CLAIMED
    assert execution_claim(execution_id=second.id)[0] is Claim.NOT_QUEUED


def test_a_queue_spans_flow_versions_by_flow_name():
    instance, flow = _queue("sequential")
    old = _make(instance, flow, 1)[0]
    next_version = Integration.objects.create(name=flow.integration.name, version=2)
    newer_flow = Flow.objects.create(
        integration=next_version, name=flow.name, queue_type="sequential"
    )
    new = _make(instance, newer_flow, 1)[0]
    assert execution_claim(execution_id=new.id)[0] is Claim.NOT_ITS_TURN
    assert execution_claim(execution_id=old.id)[0] is Claim.CLAIMED


def test_throttled_claim_allows_the_first_n_in_order():
    instance, flow = _queue("throttled", limit=2)
    rows = _make(instance, flow, 4)
    assert execution_claim(execution_id=rows[2].id)[0] is Claim.NOT_ITS_TURN
    assert execution_claim(execution_id=rows[1].id)[0] is Claim.CLAIMED
    assert execution_claim(execution_id=rows[0].id)[0] is Claim.CLAIMED
    assert execution_claim(execution_id=rows[2].id)[0] is Claim.NOT_ITS_TURN
    Execution.objects.filter(pk=rows[0].pk).update(status="failed")
    assert execution_claim(execution_id=rows[3].id)[0] is Claim.NOT_ITS_TURN
    assert execution_claim(execution_id=rows[2].id)[0] is Claim.CLAIMED


def test_an_out_of_turn_delivery_runs_nothing_and_the_finish_runs_the_next(monkeypatch):
    instance, flow = _queue("sequential")
    first, second = _make(instance, flow, 2)
    sent: list[str] = []
    monkeypatch.setattr(
        "executions.broker.execution_enqueue",
        lambda *, execution_id, countdown=None: sent.append(str(execution_id)),
    )
    execution_run(execution_id=str(second.id))
    assert _status(second) == "queued"
    assert second.steps.count() == 0
    execution_run(execution_id=str(first.id))
    assert _status(first) == "succeeded"
    assert sent == [str(second.id)]  # the finish dispatched exactly the new head


def test_the_sweep_dispatches_held_back_queues_instead_of_resending_every_row(monkeypatch):
    instance, flow = _queue("sequential")
    rows = _make(instance, flow, 5)
    Execution.objects.filter(pk=rows[0].pk).update(status="running", started_at=timezone.now())
    Execution.objects.filter(pk__in=[r.pk for r in rows]).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )
    sent: list[str] = []
    monkeypatch.setattr(
        "executions.broker.execution_enqueue",
        lambda *, execution_id, countdown=None: sent.append(str(execution_id)),
    )
    assert executions_requeue_stale(older_than_seconds=60) == 0
    assert sent == []  # all four are waiting their turn, not lost
    Execution.objects.filter(pk=rows[0].pk).update(status="succeeded")
    assert executions_requeue_stale(older_than_seconds=60) == 1
    assert sent == [str(rows[1].id)]


def test_a_sequential_head_waiting_for_its_retry_delay_holds_the_queue():
    instance, flow = _queue("sequential")
    head, behind = _make(instance, flow, 2)
    Execution.objects.filter(pk=head.pk).update(not_before=timezone.now() + timedelta(hours=1))
    assert execution_claim(execution_id=head.id)[0] is Claim.NOT_DUE
    assert execution_claim(execution_id=behind.id)[0] is Claim.NOT_ITS_TURN
    assert queue_dispatch(instance_id=instance.id, flow_name=flow.name) == 0


def test_a_throttled_retry_waiting_does_not_hold_back_the_rows_behind_it():
    instance, flow = _queue("throttled", limit=2)
    waiting, behind = _make(instance, flow, 2)
    Execution.objects.filter(pk=waiting.pk).update(not_before=timezone.now() + timedelta(hours=1))
    assert execution_claim(execution_id=behind.id)[0] is Claim.CLAIMED


def test_retry_delays_with_and_without_backoff():
    _, flow = _queue("parallel", retry_delay_seconds=10)
    assert [retry_delay_seconds(flow=flow, failed_attempt=n) for n in (1, 2, 3)] == [10, 10, 10]
    flow.retry_exponential_backoff = True
    assert [retry_delay_seconds(flow=flow, failed_attempt=n) for n in (1, 2, 3)] == [10, 20, 40]


def test_a_failed_run_gets_linked_attempts_until_max_attempts(
    monkeypatch, django_capture_on_commit_callbacks
):
    sent: list[tuple[str, float | None]] = []
    monkeypatch.setattr(
        "executions.broker.execution_enqueue",
        lambda *, execution_id, countdown=None: sent.append((str(execution_id), countdown)),
    )
    instance, flow = _queue(
        "parallel",
        steps=[("Fail", "flow.fail", {"message": "down"})],
        retry_max_attempts=2,
        retry_delay_seconds=30,
        retry_exponential_backoff=True,
    )
    first = _make(instance, flow, 1)[0]
    with django_capture_on_commit_callbacks(execute=True):
        execution_run(execution_id=str(first.id))
    second = Execution.objects.get(retry_of=first)
    assert (second.attempt, second.status, second.dedupe_id) == (2, "queued", first.dedupe_id)
    assert second.arrived_at == first.arrived_at
    assert 25 < (second.not_before - timezone.now()).total_seconds() <= 30
    assert sent == [(str(second.id), 30)]
    # Not before its time, whatever delivers it.
    execution_run(execution_id=str(second.id))
    assert _status(second) == "queued"
    Execution.objects.filter(pk=second.pk).update(not_before=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        execution_run(execution_id=str(second.id))
    third = Execution.objects.get(retry_of=first, attempt=3)
    assert sent[-1] == (str(third.id), 60)  # backoff doubles
    Execution.objects.filter(pk=third.pk).update(not_before=timezone.now())
    execution_run(execution_id=str(third.id))
    assert _status(third) == "failed"
    assert Execution.objects.filter(retry_of=first).count() == 2  # maxAttempts reached
    # One retry per failed attempt, however often it is asked for.
    assert execution_retry_schedule(execution_id=second.id) is None


def test_a_run_lost_with_its_worker_is_failed_with_the_reason_and_retried(settings, monkeypatch):
    monkeypatch.setattr(
        "executions.broker.execution_enqueue", lambda *, execution_id, countdown=None: None
    )
    settings.TRIGGERFISH_LOST_HEARTBEAT_SECONDS = 30
    instance, flow = _queue("parallel", retry_max_attempts=1, retry_delay_seconds=0)
    lost, alive = _make(instance, flow, 2)
    now = timezone.now()
    Execution.objects.filter(pk=lost.pk).update(
        status="running", started_at=now, heartbeat_at=now - timedelta(seconds=31)
    )
    Execution.objects.filter(pk=alive.pk).update(
        status="running", started_at=now, heartbeat_at=now - timedelta(seconds=5)
    )
    assert executions_fail_lost() == 1
    lost.refresh_from_db()
    assert lost.status == "failed"
    assert lost.error.startswith("Worker lost while running: no heartbeat since")
    assert _status(alive) == "running"
    assert Execution.objects.get(retry_of=lost).attempt == 2


def test_cancel_only_touches_queued_rows_and_lets_the_queue_move_on(
    monkeypatch, django_capture_on_commit_callbacks
):
    sent: list[str] = []
    monkeypatch.setattr(
        "executions.broker.execution_enqueue",
        lambda *, execution_id, countdown=None: sent.append(str(execution_id)),
    )
    instance, flow = _queue("sequential")
    first, second, third = _make(instance, flow, 3)
    with django_capture_on_commit_callbacks(execute=True):
        assert execution_cancel(execution_id=first.id) is True
    assert execution_cancel(execution_id=first.id) is False
    first.refresh_from_db()
    assert (first.status, first.error) == ("canceled", "Canceled while queued")
    assert first.ended_at is not None
    assert sent == [str(second.id)]
    Execution.objects.filter(pk=second.pk).update(status="running")
    assert executions_cancel_queued(instance_id=instance.id) == 1
    assert (_status(second), _status(third)) == ("running", "canceled")
    execution_run(execution_id=str(third.id))
    assert third.steps.count() == 0


class TestDedupe:
    @pytest.fixture
    def url(self, make_integration, make_instance):
        spec = definition(name="Deduped")
        spec["flows"][0]["queue"] = {"type": "sequential", "dedupeIdField": "body.data.order.id"}
        spec["flows"][0]["retry"] = {"maxAttempts": 3, "delaySeconds": 600}
        instance = make_instance(make_integration(spec))
        return f"/trigger/{Endpoint.objects.get(instance=instance).token}"

    def _post(self, client, url, order_id):
        response = client.post(url, {"order": {"id": order_id}}, content_type="application/json")
        assert response.status_code == 200
        return response.json()["executionId"]

    def test_a_repeat_while_queued_or_running_is_answered_with_the_first(self, client, url):
        first = self._post(client, url, 7)
        assert self._post(client, url, 7) == first
        other = self._post(client, url, 8)
        assert other != first
        Execution.objects.filter(pk=first).update(status="running")
        assert self._post(client, url, 7) == first
        Execution.objects.filter(pk=first).update(status="succeeded")
        assert self._post(client, url, 7) != first
        assert Execution.objects.count() == 3

    def test_a_newer_request_cancels_pending_retries(self, client, url):
        first = Execution.objects.get(pk=self._post(client, url, 9))
        Execution.objects.filter(pk=first.pk).update(status="failed")
        retry = execution_retry_schedule(execution_id=first.pk)
        assert retry is not None and retry.dedupe_id == "9"
        newer = self._post(client, url, 9)
        assert newer not in (str(first.pk), str(retry.pk))
        retry.refresh_from_db()
        assert retry.status == "canceled"
        assert "superseded" in retry.error
        assert Execution.objects.get(pk=newer).status == "queued"

    def test_a_dedupe_id_holding_a_nul_is_accepted_and_still_dedupes(self, client, url):
        # PostgreSQL cannot store a NUL in text; the id must not turn into a 503.
        first = self._post(client, url, "a\x00b")
        assert self._post(client, url, "a\x00b") == first
        assert self._post(client, url, "a\x00c") != first
