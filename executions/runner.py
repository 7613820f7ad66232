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
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core import codec
from executions import broker
from executions.heartbeat import RunHandle, heartbeat_register, heartbeat_unregister
from executions.hooks import execution_ended_send
from executions.models import Execution, ExecutionLog, ExecutionStatus, StepResult, StepStatus
from executions.notify import execution_finished_notify
from executions.outcome import SyncOutcome, SyncOutcomeStep
from executions.queues import Claim, execution_claim
from executions.results import (
    execution_payloads_clear,
    step_result_attach,
    step_result_files_delete,
    step_result_serialize,
    sync_result_object_store,
)
from executions.retries import execution_finished_followup
from executions.run_definitions import execution_rows_attach, flow_steps
from executions.run_scope import execution_scope, run_state_open
from integrations.components.context import (
    ActionContext,
    ExecutionLogger,
    LogSink,
    StateAccess,
    StepError,
    StopExecution,
    action_inputs_prepare,
)
from integrations.components.registry import get_action
from integrations.models import Flow, QueueType, Step
from integrations.references import TemplateError, resolve_inputs
from state.buffer import StateBuffer, StateError
from state.services import state_buffer_commit

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
        broker.execution_enqueue(execution_id=execution_id, countdown=max(wait, 0.05))
        return
    if claim is not Claim.CLAIMED:
        # Already run, running, canceled, or held back by its queue; whoever frees the
        # queue's slot dispatches it again.
        logger.info("Execution %s not started: %s", execution_id, claim.value)
        return
    handle = heartbeat_register(execution_id=execution_id)
    held_lines: list[ExecutionLog] = []  # log lines not saved yet (see _run_claimed)
    try:
        _run_claimed(execution_id, handle, held_lines)
    except Exception as error:
        # Infrastructure trouble (database gone, storage full): record what we can.
        logger.exception("Execution %s crashed the runner", execution_id)
        try:
            _finish(
                execution_id, ExecutionStatus.FAILED, f"Internal error: {error}", lines=held_lines
            )
        except Exception:
            logger.exception("Could not mark execution %s failed; recovery will", execution_id)
    finally:
        heartbeat_unregister(execution_id=execution_id)


def _error_message(error: Exception) -> str:
    if isinstance(error, StepError | TemplateError):
        return str(error)
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _run_step(
    *,
    execution: Execution,
    step: Step,
    position: int,
    scope: dict[str, Any],
    held_lines: list[ExecutionLog],
    state: StateAccess,
) -> tuple[StepResult, Any, bool]:
    """Run one step. Returns its StepResult (not saved yet: the caller saves it before the
    next step starts, or with the final status), the result value and whether the run
    stops here."""
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
            log_sink=execution_log_sink(execution, held_lines),
            state=state,
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
    return step_result, value, stop


def _run_claimed(execution_id: str, handle: RunHandle, held_lines: list[ExecutionLog]) -> None:
    execution = Execution.objects.get(pk=execution_id)
    execution_rows_attach(execution)  # instance, customer, integration, flow: cached
    flow = execution.flow
    if isinstance(execution.trigger_payload, codec.UndecodablePayload):
        # Stored by an older release or damaged: no step can be given a trigger, so the
        # run fails saying why, instead of crashing on it mid-way.
        error = f"The trigger payload cannot be read: {execution.trigger_payload.error}"
        _finish(
            execution.id,
            ExecutionStatus.FAILED,
            error,
            flow,
            lines=[_log_line(execution, "error", error)],
        )
        return
    steps = list(flow_steps(flow.id))
    # The opening line is held back and saved with the run's next write (an action's log
    # line, a step result, or the final transaction): a one-step run commits once less.
    held_lines.append(_log_line(execution, "info", f"Execution started: flow '{flow.name}'"))
    run_log = ExecutionLogger(sink=execution_log_sink(execution, held_lines))
    clock = time.monotonic()
    scope = execution_scope(execution, steps)
    state = run_state_open(execution=execution, steps=steps, scope=scope)
    state_access = state.access()
    error = ""
    value: Any = None
    stop = False
    # The run's last StepResult and log lines, stored in one transaction with the final
    # status (one commit instead of three); every earlier step's row is saved before the
    # next step starts.
    last_result: StepResult | None = None
    closing_lines: list[ExecutionLog] = []
    for position, step in enumerate(steps):
        if handle.stopped.is_set():
            # The row left `running` under us (canceled, or failed as lost by the sweep and
            # perhaps retried elsewhere): going on would run the rest of the flow twice.
            run_log.warning(f"Execution stopped before step '{step.name}': no longer running")
            return
        step_result, value, stop = _run_step(
            execution=execution,
            step=step,
            position=position,
            scope=scope,
            held_lines=held_lines,
            state=state_access,
        )
        if step_result.status == StepStatus.FAILED:
            error = step_result.error
            last_result = step_result
            closing_lines.append(
                _log_line(execution, "error", f"Step '{step.name}' failed: {error}", step.name)
            )
            break
        scope["steps"][step.name] = value
        if stop:
            last_result = step_result
            status_code = value.get("statusCode") if isinstance(value, dict) else None
            closing_lines.append(
                _log_line(
                    execution,
                    "info",
                    f"Execution stopped by step '{step.name}' with status {status_code}",
                )
            )
            break
        if position == len(steps) - 1:
            last_result = step_result
        elif held_lines:
            with transaction.atomic():  # one commit for the held lines and the result
                ExecutionLog.objects.bulk_create(held_lines)
                step_result.save()
            held_lines.clear()
        else:
            step_result.save()
    status = ExecutionStatus.FAILED if error else ExecutionStatus.SUCCEEDED
    elapsed = time.monotonic() - clock
    closing_lines.append(
        _log_line(
            execution,
            "error" if error else "info",
            f"Execution finished: {status} in {elapsed:.3f} s",
        )
    )
    if execution.synchronous and not error:
        # Written before the status turns final, so a caller woken by the finish finds it.
        sync_result_object_store(execution_id=execution.id, value=value, stopped=stop)
    lines = held_lines + closing_lines
    held_lines.clear()  # _finish's transaction has them now; a crash after must not repeat them
    try:
        _finish(
            execution.id,
            status,
            error,
            flow,
            last_result=last_result,
            lines=lines,
            outcome=_sync_outcome(execution, status, error, last_result),
            state=state if status == ExecutionStatus.SUCCEEDED else None,
            drop_payload=not execution.integration.retention_store_payloads,
        )
    except StateError as refused:
        # The writes fitted when the steps made them, but runs committed since have taken
        # the scope past its limit: the run fails, and its transaction saved nothing.
        _finish_state_refused(execution, flow, last_result, lines[:-1], str(refused), elapsed)


def _finish_state_refused(
    execution: Execution,
    flow: Flow,
    last_result: StepResult | None,
    lines: list[ExecutionLog],
    error: str,
    elapsed: float,
) -> None:
    """Finish a run whose state could not be saved as failed, its last step with it."""
    if last_result is not None:
        last_result.status = StepStatus.FAILED
        last_result.error = error
    step_name = last_result.name if last_result is not None else ""
    lines = [
        *lines,
        _log_line(execution, "error", f"Step '{step_name}' failed: {error}", step_name),
        _log_line(execution, "error", f"Execution finished: failed in {elapsed:.3f} s"),
    ]
    status = ExecutionStatus.FAILED
    outcome = _sync_outcome(execution, status, error, last_result)
    _finish(
        execution.id,
        status,
        error,
        flow,
        last_result=last_result,
        lines=lines,
        outcome=outcome,
        drop_payload=not execution.integration.retention_store_payloads,
    )


def _sync_outcome(
    execution: Execution, status: str, error: str, last_result: StepResult | None
) -> SyncOutcome | None:
    """What a synchronous caller's answer reads of the finished row, announced with the
    finish so the waiting request need not read it back (executions.notify): the status,
    the error and the last step with its inline result. None for an asynchronous run, and
    when the result lives in a file (the waiter reads the database then)."""
    if not execution.synchronous:
        return None
    step = None
    if last_result is not None:
        if last_result.result_file:
            return None
        step = SyncOutcomeStep(
            position=last_result.position,
            action=last_result.action,
            status=last_result.status,
            result=last_result.result,
        )
    return SyncOutcome(status=status, error=error, flow_id=execution.flow_id, step=step)


def _log_line(execution: Execution, level: str, message: str, step_name: str = "") -> ExecutionLog:
    return ExecutionLog(
        execution=execution, level=level, message=message, step_name=step_name[:200]
    )


def execution_log_sink(execution: Execution, held_lines: list[ExecutionLog]) -> LogSink:
    """``context.log``'s sink: ExecutionLog rows; the held lines are saved first, with it."""

    def write(level: str, message: str, step_name: str) -> None:
        line = _log_line(execution, level, message, step_name)
        if held_lines:
            ExecutionLog.objects.bulk_create([*held_lines, line])
            held_lines.clear()
        else:
            line.save()

    return write


def _finish(
    execution_id: uuid.UUID | str,
    status: str,
    error: str,
    flow: Flow | None = None,
    *,
    last_result: StepResult | None = None,
    lines: list[ExecutionLog] | None = None,
    outcome: SyncOutcome | None = None,
    state: StateBuffer | None = None,
    drop_payload: bool = False,
) -> None:
    # The last step's result, the closing log lines, the final status and a succeeded
    # run's state commit together: a waiter woken by the finish finds all of them.
    if drop_payload:
        # storePayloads: false. Files first, then (in the final transaction) the rows, so
        # no row points at a deleted file once the run has ended; a crash before the commit
        # leaves a run the recovery sweep fails and the hourly prune drops (retention).
        step_result_files_delete(execution_ids=[execution_id], unsaved=last_result)
    with transaction.atomic():
        # Conditional on `running`: a run canceled, or failed as lost, meanwhile keeps that,
        # and saves no state.
        finished = Execution.objects.filter(pk=execution_id, status=ExecutionStatus.RUNNING).update(
            status=status, ended_at=timezone.now(), error=error
        )
        if finished and state is not None:
            # Raises StateError before anything else is saved when the writes no longer fit.
            state_buffer_commit(buffer=state)
        if last_result is not None:
            last_result.save()
        if lines:
            ExecutionLog.objects.bulk_create(lines)
        if drop_payload:
            execution_payloads_clear(execution_ids=[execution_id])
    # After the update has committed: a woken waiter reads the final row, or the outcome,
    # which is announced only when this update wrote it (else the row says otherwise).
    execution_finished_notify(execution_id=execution_id, outcome=outcome if finished else None)
    if not finished:
        return
    if (
        flow is not None
        and flow.queue_type == QueueType.PARALLEL
        and (status == ExecutionStatus.SUCCEEDED or not flow.retry_max_attempts)
    ):
        # Nothing follows: no retry, no queue waiting for this run. Watchers still hear of
        # its end (without the ids the follow-up would have read: not worth a query).
        execution_ended_send(execution_id=execution_id, status=status, flow_name=flow.name)
        return
    execution_finished_followup(execution_id=execution_id)
