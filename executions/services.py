"""Creating executions: the accepting side of every trigger.

``execution_create`` commits the Execution row and only then enqueues it
(``transaction.on_commit``), so a worker never sees an uncommitted row and nothing is
acknowledged to a caller that the database does not hold. If the broker is down when the
transaction commits, the row stays ``queued`` and the recovery sweep enqueues it later.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.codec import UndecodablePayload
from executions import broker
from executions.models import Execution, ExecutionStatus, ReplayDefinition, TriggerKind
from executions.queues import queue_dispatch
from instances.errors import InstanceStateError
from instances.models import Customer, Instance
from integrations.models import Flow, Integration, QueueType

logger = logging.getLogger(__name__)


IDENTITY_KEYS = ("executionId", "customer", "instance", "integration", "flow", "startedAt")


def identity_fields(
    *,
    instance: Instance,
    flow: Flow,
    integration: Integration | None = None,
    customer: Customer | None = None,
) -> dict[str, Any]:
    """``customer``, ``instance``, ``integration`` and ``flow`` as payloads and references
    show them. ``integration`` defaults to the version the instance runs now; callers that
    hold the rows already pass them, to save the queries."""
    customer = customer or instance.customer
    integration = integration or instance.integration
    return {
        "customer": {
            "id": str(customer.id),
            "name": customer.name,
            "externalId": customer.external_id,
        },
        "instance": {"id": str(instance.id), "name": instance.name},
        "integration": {
            "id": str(integration.id),
            "name": integration.name,
            "version": integration.version,
        },
        "flow": {"id": str(flow.id), "name": flow.name},
    }


def identity_payload(
    *,
    execution_id: uuid.UUID,
    instance: Instance,
    flow: Flow,
    integration: Integration | None = None,
) -> dict[str, Any]:
    """The fields every trigger payload carries (SPEC §3)."""
    return {
        "executionId": str(execution_id),
        **identity_fields(instance=instance, flow=flow, integration=integration),
        "startedAt": timezone.now().isoformat(),
    }


def _start_when_committed(execution: Execution, flow: Flow) -> None:
    """After commit: a parallel flow's row goes straight to the workers; a throttled or
    sequential one goes through its queue's dispatch, which sends only what may start."""
    if flow.queue_type == QueueType.PARALLEL:
        broker.execution_enqueue(execution_id=execution.id)
        return
    try:
        queue_dispatch(instance_id=execution.instance_id, flow_name=flow.name)
    except Exception:
        # The row is committed and the caller may already be told so; never fail now.
        # Its own message lets the claim decide; the sweep covers a broker that is down too.
        logger.warning("Queue dispatch failed for %s; sending it directly", execution.id)
        broker.execution_enqueue(execution_id=execution.id)


def _execution_build(
    *,
    instance: Instance,
    flow: Flow,
    trigger_kind: TriggerKind | str,
    payload: dict[str, Any],
    arrived_at: datetime,
    execution_id: uuid.UUID | None = None,
    integration: Integration | None = None,
    **fields: Any,
) -> Execution:
    """An unsaved queued execution: its trigger payload with the identity fields. It runs
    ``flow`` of ``integration``, by default the version the instance runs now."""
    execution_id = execution_id or uuid.uuid4()
    return Execution(
        id=execution_id,
        instance=instance,
        customer_id=instance.customer_id,
        integration_id=integration.pk if integration else instance.integration_id,
        flow=flow,
        status=ExecutionStatus.QUEUED,
        trigger_kind=trigger_kind,
        trigger_payload={
            **payload,
            **identity_payload(
                execution_id=execution_id, instance=instance, flow=flow, integration=integration
            ),
        },
        arrived_at=arrived_at,
        **fields,
    )


def execution_create(
    *,
    instance: Instance,
    flow: Flow,
    trigger_kind: TriggerKind | str,
    payload: dict[str, Any],
    synchronous: bool = False,
    replay_of: Execution | None = None,
    enqueue: bool = True,
    dedupe_id: str = "",
    retry_of: Execution | None = None,
    attempt: int = 1,
    arrived_at: datetime | None = None,
    not_before: datetime | None = None,
    integration: Integration | None = None,
) -> Execution:
    """Store an execution with its trigger payload (plus the identity fields) and enqueue it
    once the surrounding transaction commits (see ``executions.queues`` for the order).
    ``integration`` is the version it runs (``flow`` must be of it); by default the
    instance's."""
    execution = _execution_build(
        instance=instance,
        flow=flow,
        integration=integration,
        trigger_kind=trigger_kind,
        payload=payload,
        synchronous=synchronous,
        replay_of=replay_of,
        dedupe_id=dedupe_id,
        retry_of=retry_of,
        attempt=attempt,
        arrived_at=arrived_at or timezone.now(),
        not_before=not_before,
    )
    # One statement, so no transaction of its own: outside an atomic block the INSERT
    # commits by itself (one round trip instead of BEGIN, INSERT, COMMIT) and on_commit
    # runs at once; inside the caller's block both wait for the caller's commit.
    execution.save(force_insert=True)
    if enqueue:
        transaction.on_commit(lambda: _start_when_committed(execution, flow))
    return execution


@dataclass(frozen=True)
class NewExecution:
    """One execution for ``executions_create``: what ``execution_create`` takes for a
    queued run of a trigger."""

    instance: Instance
    flow: Flow
    trigger_kind: TriggerKind | str
    payload: dict[str, Any]
    arrived_at: datetime
    # Given when a row written before the execution must point at it (a fire's claim).
    id: uuid.UUID | None = None


def executions_create(
    new: list[NewExecution], *, send: Callable[[Callable[[], None]], Any] | None = None
) -> list[Execution]:
    """Store many queued executions with one INSERT and enqueue them, in order, once the
    surrounding transaction commits: ``execution_create`` for a batch (a batch of polls
    starts hundreds at once). ``send``, when given, is handed the enqueueing instead of
    running it on commit (a sender thread, so the next commit need not wait on the
    broker); it gets only parallel flows' executions, whose enqueue reads no table — the
    others are dispatched on commit as ``execution_create`` does."""
    executions = [
        _execution_build(
            instance=entry.instance,
            flow=entry.flow,
            trigger_kind=entry.trigger_kind,
            payload=entry.payload,
            arrived_at=entry.arrived_at,
            execution_id=entry.id,
        )
        for entry in new
    ]
    Execution.objects.bulk_create(executions, batch_size=200)
    if not executions:
        return executions
    if send is None:
        transaction.on_commit(lambda: _all_start_when_committed(executions))
        return executions
    parallel = [e for e in executions if e.flow.queue_type == QueueType.PARALLEL]
    others = [e for e in executions if e.flow.queue_type != QueueType.PARALLEL]
    if parallel:
        transaction.on_commit(lambda: send(lambda: _all_start_when_committed(parallel)))
    if others:
        transaction.on_commit(lambda: _all_start_when_committed(others))
    return executions


def _all_start_when_committed(executions: list[Execution]) -> None:
    for execution in executions:
        _start_when_committed(execution, execution.flow)


class ReplayRefused(Exception):
    """The execution may not be replayed: its request was refused at the trigger."""


def execution_replay(
    *, execution: Execution, definition: ReplayDefinition | str = ReplayDefinition.CURRENT
) -> Execution:
    """Run a finished or failed execution again with the same trigger payload.

    The replay runs on the instance's current version, or with ``definition="original"``
    on the version the execution ran (its own flow row; the queue is the instance flow's
    by name either way); ``replayOf`` links it back. A
    request refused at its signature check or component trigger is never replayed
    (``ReplayRefused``): its payload was never verified, and replaying it would run the
    flow on whatever an unsigned sender posted."""
    if execution.refused_at_trigger:
        raise ReplayRefused(
            "This request was refused at its trigger (signature or component check); "
            "a refused request is never replayed."
        )
    if execution.payload_dropped or not execution.integration.retention_store_payloads:
        raise ReplayRefused(
            "This execution's trigger payload is not kept: its integration's retention sets "
            "storePayloads: false, so it cannot be replayed."
        )
    if isinstance(execution.trigger_payload, UndecodablePayload):
        reason = execution.trigger_payload.error
        raise ReplayRefused(f"The trigger payload cannot be read: {reason}")
    instance = execution.instance
    if instance.removed_at is not None:
        raise InstanceStateError(
            "The instance has been removed; its executions cannot be replayed."
        )
    integration: Integration | None = None
    flow: Flow | None
    if definition == ReplayDefinition.ORIGINAL:
        integration, flow = execution.integration, execution.flow
    else:
        flow = instance.integration.flows.filter(name=execution.flow.name).first()
    if flow is None:
        raise InstanceStateError(
            f"The instance no longer has a flow named {execution.flow.name!r}."
        )
    payload = {
        key: value for key, value in execution.trigger_payload.items() if key not in IDENTITY_KEYS
    }
    return execution_create(
        instance=instance,
        flow=flow,
        trigger_kind=TriggerKind.REPLAY,
        payload=payload,
        replay_of=execution,
        integration=integration,
    )
