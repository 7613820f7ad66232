"""Accepting a webhook request: store the execution (once per idempotency key) and enqueue."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from executions.models import Execution, TriggerKind
from executions.services import execution_create
from triggers.routing import Target

IDEMPOTENCY_WINDOW = timedelta(hours=24)
MAX_IDEMPOTENCY_KEY_LENGTH = 255


def _first_delivery(*, endpoint_token: str, key: str) -> Execution | None:
    from triggers.models import IdempotencyRecord

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
) -> tuple[Execution, bool]:
    """Store and enqueue the execution; returns it and whether it is new.

    A key seen on this endpoint within 24 h returns the first execution and starts
    nothing. Two concurrent requests with one key meet at the unique constraint: the
    loser's transaction rolls back whole (its execution and its enqueue with it) and it
    answers with the winner's execution.
    """
    from triggers.models import IdempotencyRecord

    token = target.endpoint.token
    if idempotency_key:
        first = _first_delivery(endpoint_token=token, key=idempotency_key)
        if first is not None:
            return first, False
    try:
        with transaction.atomic():
            if idempotency_key:
                # A record past the window no longer counts; make room for the new one.
                IdempotencyRecord.objects.filter(
                    endpoint_token=token,
                    key=idempotency_key,
                    created_at__lt=timezone.now() - IDEMPOTENCY_WINDOW,
                ).delete()
            execution = execution_create(
                instance=target.instance,
                flow=target.flow,
                trigger_kind=TriggerKind.WEBHOOK,
                payload=payload,
                synchronous=synchronous,
            )
            if idempotency_key:
                IdempotencyRecord.objects.create(
                    endpoint_token=token, key=idempotency_key, execution=execution
                )
    except IntegrityError:
        first = (
            _first_delivery(endpoint_token=token, key=idempotency_key) if idempotency_key else None
        )
        if first is None:
            raise
        return first, False
    return execution, True


def idempotency_records_prune() -> int:
    from triggers.models import IdempotencyRecord

    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - IDEMPOTENCY_WINDOW
    ).delete()
    return deleted


def webhook_refuse(*, target: Target, payload: dict[str, Any], reason: str) -> Execution:
    """Record a request its trigger refused (bad signature, a component's rejection) as a
    failed execution with the reason and no steps, so the refusal shows in the admin."""
    from executions.models import ExecutionStatus

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
            status=ExecutionStatus.FAILED, error=reason, started_at=now, ended_at=now
        )
    execution.status, execution.error = ExecutionStatus.FAILED, reason
    return execution
