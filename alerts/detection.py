"""Alerts raised by a finished run: failed, retry pending, too long, a log line at a level,
and the recovery notices a succeeded run sends (SPEC §9).

A run's end reaches here as a Celery task (``alerts.execution_check``), sent by the
receiver of ``executions.hooks.execution_ended`` only when a monitor could be watching;
so nothing here runs inside the run or its commit.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from alerts.events import EVENT_TYPES, LOG_LEVEL_ORDER, threshold_value
from alerts.models import AlertEvent, AlertMonitor
from alerts.notices import alert_raise, alert_recover, raised_for_execution
from alerts.scope import monitor_covers, monitor_scopes, monitors_watching, recovery_owed
from executions.models import Execution, ExecutionLog, ExecutionStatus

logger = logging.getLogger(__name__)

EXECUTION_EVENTS = {name for name, event in EVENT_TYPES.items() if event.from_execution}
RECOVERING_EVENTS = {name for name, event in EVENT_TYPES.items() if event.recovers_on_success}
# Raised by a failed run only; by any run's end (its duration, its log lines).
FAILURE_EVENTS = {"execution.failed", "execution.retry_pending"}
ANY_END_EVENTS = EXECUTION_EVENTS - FAILURE_EVENTS


def execution_may_be_watched(
    *, status: str, customer_id: object, instance_id: object, flow_name: str
) -> bool:
    """Whether any enabled monitor could have something to say about this run's end (no
    query while the process's copy of the monitors is fresh). The integration is matched
    by name, which the run's end does not carry: the task checks it. A success matters to
    the failure monitors only when a recovery notice is owed."""
    wanted = set(ANY_END_EVENTS)
    if status == ExecutionStatus.FAILED:
        wanted |= FAILURE_EVENTS
    if status == ExecutionStatus.SUCCEEDED and recovery_owed(
        instance_id=instance_id, flow_name=flow_name
    ):
        wanted |= RECOVERING_EVENTS
    return any(
        scope.event in wanted
        and scope.covers(
            integration_name=None,
            customer_id=customer_id,
            instance_id=instance_id,
            flow_name=flow_name,
        )
        for scope in monitor_scopes()
    )


def execution_check(*, execution_id: uuid.UUID | str, retry_scheduled: bool) -> list[AlertEvent]:
    """Raise (or recover) what this finished run means for each monitor watching it."""
    execution = (
        Execution.objects.select_related(
            "instance__customer", "instance__integration", "integration", "flow"
        )
        .filter(pk=execution_id)
        .first()
    )
    if execution is None:
        return []
    instance = execution.instance
    flow_name = execution.flow.name
    sent: list[AlertEvent] = []
    monitors = [
        monitor
        for monitor in monitors_watching(EXECUTION_EVENTS | RECOVERING_EVENTS)
        if monitor_covers(
            monitor,
            integration_name=execution.integration.name,
            customer_id=execution.customer_id,
            instance_id=execution.instance_id,
            flow_name=flow_name,
        )
    ]
    for monitor in monitors:
        details = _raised_details(monitor, execution, retry_scheduled)
        if details is not None:
            # The periodic check may have raised it while the run was still going.
            if monitor.event == "execution.duration_exceeded" and raised_for_execution(
                monitor, execution.pk
            ):
                continue
            event = alert_raise(
                monitor=monitor,
                instance=instance,
                flow_name=flow_name,
                execution=execution,
                details=details,
            )
        elif execution.status == ExecutionStatus.SUCCEEDED and monitor.event in RECOVERING_EVENTS:
            event = alert_recover(
                monitor=monitor, instance=instance, flow_name=flow_name, execution=execution
            )
        else:
            event = None
        if event is not None:
            sent.append(event)
    return sent


def _raised_details(
    monitor: AlertMonitor, execution: Execution, retry_scheduled: bool
) -> dict[str, Any] | None:
    """The event's ``details`` when this run raises the monitor's event, else None."""
    event = monitor.event
    failed = execution.status == ExecutionStatus.FAILED
    if event == "execution.failed":
        return {"attempt": execution.attempt} if failed and not retry_scheduled else None
    if event == "execution.retry_pending":
        return {"attempt": execution.attempt} if failed and retry_scheduled else None
    if event == "execution.duration_exceeded":
        seconds = threshold_value(event, monitor.threshold, "seconds")
        if execution.started_at is None or execution.ended_at is None:
            return None
        took = (execution.ended_at - execution.started_at).total_seconds()
        return {"seconds": seconds, "durationSeconds": round(took, 3)} if took > seconds else None
    if event == "log.level":
        floor = LOG_LEVEL_ORDER[threshold_value(event, monitor.threshold, "level")]
        levels = [level for level, order in LOG_LEVEL_ORDER.items() if order >= floor]
        lines = ExecutionLog.objects.filter(execution=execution, level__in=levels)
        first = lines.order_by("id").values("level", "message", "step_name").first()
        if first is None:
            return None
        return {
            "level": first["level"],
            "message": first["message"][:1000],
            "step": first["step_name"],
            "lines": lines.count(),
        }
    return None
