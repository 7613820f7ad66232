"""Accepting a webhook request: store the execution (once per idempotency key) and enqueue."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from executions.models import Execution, ExecutionStatus, TriggerKind
from executions.queues import executions_cancel_queued_rows, queue_lock
from executions.services import execution_create
from integrations.models import Flow
from state.buffer import StateBuffer
from state.services import state_buffer_commit
from triggers.models import IdempotencyRecord
from triggers.webhooks.payloads import payload_field
from triggers.webhooks.routing import Target

IDEMPOTENCY_WINDOW = timedelta(hours=24)
MAX_IDEMPOTENCY_KEY_LENGTH = 255
MAX_DEDUPE_ID_LENGTH = 500
SUPERSEDED_ERROR = "Retry canceled: superseded by a newer execution with the same dedupe id"


def _first_delivery(*, endpoint_token: str, key: str) -> Execution | None:
    record = (
        IdempotencyRecord.objects.select_related("execution")
        .filter(
            endpoint_token=endpoint_token,
            key=key,
            created_at__gte=timezone.now() - IDEMPOTENCY_WINDOW,
        )
        .first()
    )
    return record.execution if record else None


def webhook_accept(
    *,
    target: Target,
    payload: dict[str, Any],
    idempotency_key: str | None = None,
    synchronous: bool = False,
    state: StateBuffer | None = None,
) -> tuple[Execution, bool]:
    """Store and enqueue the execution; returns it and whether it is new.

    ``state``, a component trigger's writes, is saved in the transaction that stores a new
    execution, and not at all for a request answered with an earlier one. A StateError
    (runs committed meanwhile took a scope past its key limit) stores neither.

    With the flow's ``queue.dedupeIdField``, a request whose id matches an execution of
    the same instance flow that is still queued or running starts nothing and is answered
    with that execution; it cancels pending retries of earlier work with that id.

    A key seen on this endpoint within 24 h returns the first execution and starts
    nothing. Two concurrent requests with one key meet at the unique constraint: the
    loser's transaction rolls back whole (its execution and its enqueue with it) and it
    answers with the winner's execution.
    """
    token = target.endpoint.token
    if idempotency_key:
        first = _first_delivery(endpoint_token=token, key=idempotency_key)
        if first is not None:
            return first, False
    dedupe_id = dedupe_id_read(flow=target.flow, payload=payload)
    if not (idempotency_key or dedupe_id or (state is not None and state.has_writes)):
        # The common case: one INSERT that commits by itself, then the enqueue.
        execution = _webhook_execution_create(target, payload, synchronous=synchronous)
        return execution, True
    try:
        with transaction.atomic():
            if dedupe_id:
                # Under the queue's lock, so two requests with one id cannot both start.
                queue_lock(instance_id=target.instance.pk, flow_name=target.flow.name)
                pending = _dedupe_pending(target=target, dedupe_id=dedupe_id)
                if pending is not None:
                    return pending, False
            if idempotency_key:
                # A record past the window no longer counts; make room for the new one.
                IdempotencyRecord.objects.filter(
                    endpoint_token=token,
                    key=idempotency_key,
                    created_at__lt=timezone.now() - IDEMPOTENCY_WINDOW,
                ).delete()
            execution = _webhook_execution_create(
                target, payload, synchronous=synchronous, dedupe_id=dedupe_id
            )
            if idempotency_key:
                IdempotencyRecord.objects.create(
                    endpoint_token=token, key=idempotency_key, execution=execution
                )
            if state is not None:
                state_buffer_commit(buffer=state)
    except IntegrityError:
        first = (
            _first_delivery(endpoint_token=token, key=idempotency_key) if idempotency_key else None
        )
        if first is None:
            raise
        return first, False
    return execution, True


def _webhook_execution_create(
    target: Target, payload: dict[str, Any], *, synchronous: bool, dedupe_id: str = ""
) -> Execution:
    return execution_create(
        instance=target.instance,
        flow=target.flow,
        trigger_kind=TriggerKind.WEBHOOK,
        payload=payload,
        synchronous=synchronous,
        dedupe_id=dedupe_id,
    )


def dedupe_id_read(*, flow: Flow, payload: dict[str, Any]) -> str:
    """The flow's ``queue.dedupeIdField`` read from the payload; "" when unset or absent."""
    if not flow.queue_dedupe_id_field:
        return ""
    value = payload_field(payload, flow.queue_dedupe_id_field)
    if value is None or value == "":
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    elif not isinstance(value, str):
        value = json.dumps(value, sort_keys=True, default=str)
    # PostgreSQL text cannot hold a NUL (a query with one fails as if the database were
    # down); spelled as JSON spells it, the id still tells requests apart.
    return value.replace("\x00", "\\u0000")[:MAX_DEDUPE_ID_LENGTH]


def _dedupe_pending(*, target: Target, dedupe_id: str) -> Execution | None:
    """What a request with this dedupe id meets: pending *retries* of earlier work are
    superseded (canceled) by the newer request; a first attempt still queued, or any
    attempt running, is the execution the request is answered with."""
    same = Execution.objects.filter(
        instance=target.instance, flow__name=target.flow.name, dedupe_id=dedupe_id
    )
    executions_cancel_queued_rows(
        rows=same.filter(retry_of__isnull=False), reason=SUPERSEDED_ERROR, dispatch=False
    )
    return (
        same.filter(status__in=(ExecutionStatus.QUEUED, ExecutionStatus.RUNNING))
        .order_by("created_at")
        .first()
    )


def idempotency_records_prune() -> int:
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - IDEMPOTENCY_WINDOW
    ).delete()
    return deleted


def webhook_refuse(*, target: Target, payload: dict[str, Any], reason: str) -> Execution:
    """Record a request its trigger refused (bad signature, a component's rejection) as a
    failed execution with the reason and no steps, so the refusal shows in the admin."""
    with transaction.atomic():
        execution = execution_create(
            instance=target.instance,
            flow=target.flow,
            trigger_kind=TriggerKind.WEBHOOK,
            payload=payload,
            enqueue=False,
        )
        now = timezone.now()
        Execution.objects.filter(pk=execution.pk).update(
            status=ExecutionStatus.FAILED,
            error=reason,
            started_at=now,
            ended_at=now,
            refused_at_trigger=True,
        )
    execution.status, execution.error = ExecutionStatus.FAILED, reason
    execution.refused_at_trigger = True
    return execution
