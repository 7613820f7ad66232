"""The step runner: one execution, its flow's steps in order, each result recorded.

``execution_run`` is what the ``executions.run_execution`` task calls, and what a test or a
synchronous path may call directly. Celery may deliver a task twice (late acks, a worker
lost mid-run, the recovery sweep re-enqueueing), so the run starts with a claim:
``queued -> running`` in one conditional UPDATE, taken under the queue's lock for throttled
and sequential flows (``executions.queues``). Exactly one caller wins; the others return
having done nothing. While it runs, the worker's heartbeat thread stamps the row
(``executions.heartbeat``); when it ends, a failure schedules its retry and the queue
dispatches what may start next.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.utils import timezone

from executions import services
from executions.heartbeat import RunHandle, heartbeat_register, heartbeat_unregister
from executions.models import Execution, ExecutionLog, ExecutionStatus, StepResult, StepStatus
from executions.notify import execution_finished_notify
from executions.queues import Claim, execution_claim, queue_dispatch_safely
from executions.results import step_result_attach, step_result_serialize
from executions.retries import execution_retry_schedule
from integrations.components.context import (
    ActionContext,
    ExecutionLogger,
    StepError,
    StopExecution,
    action_inputs_prepare,
)
from integrations.components.registry import get_action
from integrations.config_values import config_vars_for
from integrations.models import Flow, QueueType, Step
from integrations.references import TemplateError, resolve_inputs
from triggers.endpoints import instance_webhook_context
from triggers.sync import sync_result_object_store

logger = logging.getLogger(__name__)


def execution_run(*, execution_id: str) -> None:
    """Run one execution if it is queued and its queue lets it start now. Never raises: one
    bad execution must not take the worker down (the task would otherwise be redelivered
    and fail again)."""
    try:
        claim, execution = execution_claim(execution_id=execution_id)
    except ValidationError:
        logger.warning("Ignoring run request for malformed execution id %r", execution_id)
        return
    if claim is Claim.NOT_DUE and execution is not None and execution.not_before:
        # Early (a clock ahead of this one, or a redelivery): ask again when it is due.
        wait = (execution.not_before - timezone.now()).total_seconds()
        services.execution_enqueue(execution_id=execution_id, countdown=max(wait, 0.05))
        return
    if claim is not Claim.CLAIMED:
        # Already run, running, canceled, or held back by its queue; whoever frees the
        # queue's slot dispatches it again.
        logger.info("Execution %s not started: %s", execution_id, claim.value)
        return
    handle = heartbeat_register(execution_id=execution_id)
    try:
        _run_claimed(execution_id, handle)
    except Exception as error:
        # Infrastructure trouble (database gone, storage full): record what we can.
        logger.exception("Execution %s crashed the runner", execution_id)
        try:
            _finish(execution_id, ExecutionStatus.FAILED, f"Internal error: {error}")
        except Exception:
            logger.exception("Could not mark execution %s failed; recovery will", execution_id)
    finally:
        heartbeat_unregister(execution_id=execution_id)


def _flow_with_steps(flow_id: Any) -> Flow:
    return Flow.objects.prefetch_related(
        Prefetch("steps", queryset=Step.objects.order_by("position", "id"))
    ).get(pk=flow_id)


def _config_vars(execution: Execution) -> dict[str, Any]:
    return config_vars_for(
        integration=execution.integration, values=execution.instance.config_values
    )


def execution_scope(execution: Execution) -> dict[str, Any]:
    """What references may read during this run (SPEC §2 "References")."""
    instance = execution.instance
    flow = execution.flow
    # Computed at run time so a flow sees the instance's current URLs and keys, including
    # those added after the execution was accepted. A payload that carries its own (deploy
    # and remove flows) wins: a remove flow runs after the endpoints are gone and needs the
    # URLs it registered.
    trigger = {**instance_webhook_context(instance), **(execution.trigger_payload or {})}
    return {
        "trigger": trigger,
        "configVars": _config_vars(execution),
        "steps": {},
        **services.identity_fields(
            instance=instance,
            flow=flow,
            integration=execution.integration,
            customer=execution.customer,
        ),
        "execution": {
            "id": str(execution.id),
            "attempt": execution.attempt,
            "startedAt": execution.started_at.isoformat() if execution.started_at else None,
        },
    }


def _error_message(error: Exception) -> str:
    if isinstance(error, StepError | TemplateError):
        return str(error)
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _run_step(
    *, execution: Execution, step: Step, position: int, scope: dict[str, Any]
) -> tuple[StepResult, Any, bool]:
    """Run one step and store its StepResult. Returns the row, the result value and
    whether the run stops here."""
    started_at = timezone.now()
    stop = False
    value: Any = None
    serialized: bytes | None = None
    error = ""
    try:
        action = get_action(step.action)
        if action is None:
            raise StepError(f"Unknown action '{step.action}'")
        inputs = action_inputs_prepare(action=action, inputs=resolve_inputs(step.inputs, scope))
        context = ActionContext(
            execution_id=str(execution.id),
            step_name=step.name,
            instance=scope["instance"],
            customer=scope["customer"],
            integration=scope["integration"],
            flow=scope["flow"],
            config_vars=scope["configVars"],
        )
        try:
            value = action.function(context, **inputs)
        except StopExecution as stopped:
            value = stopped.response
            stop = True
        try:
            serialized = step_result_serialize(value)
        except (TypeError, ValueError) as problem:
            raise StepError(f"Step result cannot be stored: {problem}") from problem
    except Exception as problem:
        error = _error_message(problem)
        value = None
        serialized = None
        if not isinstance(problem, StepError | TemplateError):
            logger.info("Step %r of execution %s raised", step.name, execution.id, exc_info=True)
    step_result = StepResult(
        execution=execution,
        position=position,
        name=step.name,
        action=step.action,
        status=StepStatus.FAILED if error else StepStatus.SUCCEEDED,
        started_at=started_at,
        ended_at=timezone.now(),
        error=error,
    )
    if not error:
        step_result_attach(step_result=step_result, value=value, serialized=serialized)
    step_result.save()
    return step_result, value, stop


def _run_claimed(execution_id: str, handle: RunHandle) -> None:
    execution = Execution.objects.select_related("instance", "customer", "integration", "flow").get(
        pk=execution_id
    )
    flow = _flow_with_steps(execution.flow_id)
    run_log = ExecutionLogger(execution_id=str(execution.id))
    run_log.info(f"Execution started: flow '{flow.name}'")
    clock = time.monotonic()
    scope = execution_scope(execution)
    error = ""
    value: Any = None
    stop = False
    for position, step in enumerate(flow.steps.all()):
        if handle.stopped.is_set():
            # The row left `running` under us (canceled, or failed as lost by the sweep and
            # perhaps retried elsewhere): going on would run the rest of the flow twice.
            run_log.warning(f"Execution stopped before step '{step.name}': no longer running")
            return
        step_result, value, stop = _run_step(
            execution=execution, step=step, position=position, scope=scope
        )
        if step_result.status == StepStatus.FAILED:
            error = step_result.error
            ExecutionLog.objects.create(
                execution=execution,
                level="error",
                message=f"Step '{step.name}' failed: {error}",
                step_name=step.name[:200],
            )
            break
        scope["steps"][step.name] = value
        if stop:
            status_code = value.get("statusCode") if isinstance(value, dict) else None
            run_log.info(f"Execution stopped by step '{step.name}' with status {status_code}")
            break
    status = ExecutionStatus.FAILED if error else ExecutionStatus.SUCCEEDED
    elapsed = time.monotonic() - clock
    run_log.write(
        "error" if error else "info",
        f"Execution finished: {status} in {elapsed:.3f} s",
    )
    if execution.synchronous and not error:
        # Written before the status turns final, so a caller woken by the finish finds it.
        sync_result_object_store(execution_id=execution.id, value=value, stopped=stop)
    _finish(execution.id, status, error, flow)


def _finish(execution_id: Any, status: str, error: str, flow: Flow | None = None) -> None:
    # Conditional on `running`: a run canceled, or failed as lost, meanwhile keeps that.
    finished = Execution.objects.filter(pk=execution_id, status=ExecutionStatus.RUNNING).update(
        status=status, ended_at=timezone.now(), error=error
    )
    # After the update has committed (autocommit): a woken waiter reads the final row.
    execution_finished_notify(execution_id=execution_id)
    if not finished:
        return
    if (
        flow is not None
        and flow.queue_type == QueueType.PARALLEL
        and (status == ExecutionStatus.SUCCEEDED or not flow.retry_max_attempts)
    ):
        return  # nothing follows: no retry, no queue waiting for this run
    execution_finished_followup(execution_id=execution_id)


def execution_finished_followup(*, execution_id: Any) -> None:
    """What a run ending sets off: its retry if it failed, and the next run of its queue.
    Called by whoever moved the row out of `running` (the runner, the lost-run sweep)."""
    row = (
        Execution.objects.filter(pk=execution_id)
        .values("status", "instance_id", "flow__name", "flow__queue_type")
        .first()
    )
    if row is None:
        return
    if row["status"] == ExecutionStatus.FAILED:
        try:
            if execution_retry_schedule(execution_id=execution_id) is not None:
                return  # the retry's own dispatch starts what comes next
        except Exception:
            logger.exception("Could not schedule a retry of execution %s", execution_id)
    if row["flow__queue_type"] != QueueType.PARALLEL:
        queue_dispatch_safely(instance_id=row["instance_id"], flow_name=row["flow__name"])
