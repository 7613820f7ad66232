"""Builders for the alert tests: monitors with channels, and runs of small flows."""

from __future__ import annotations

from typing import Any

import pytest

from alerts.delivery import delivery_attempt
from alerts.models import AlertChannel, AlertDelivery, AlertEvent, AlertMonitor
from alerts.scope import monitor_scopes_forget
from executions.models import Execution
from executions.runner import execution_run
from executions.services import execution_create
from instances.models import Instance
from integrations.models import Flow


def monitor_make(
    event: str,
    *,
    webhook: str | None = None,
    email: list[str] | None = None,
    **fields: Any,
) -> AlertMonitor:
    monitor = AlertMonitor.objects.create(name=f"Watch {event}", event=event, **fields)
    if webhook:
        AlertChannel.objects.create(monitor=monitor, type="webhook", url=webhook)
    if email:
        AlertChannel.objects.create(monitor=monitor, type="email", to=email, position=1)
    monitor_scopes_forget()
    return monitor


def run(instance: Instance, flow: Flow, **options: Any) -> Execution:
    """Create and run one execution here, as a worker would."""
    execution = execution_create(
        instance=instance, flow=flow, trigger_kind="manual", payload={}, enqueue=False, **options
    )
    execution_run(execution_id=str(execution.pk))
    execution.refresh_from_db()
    return execution


def deliver_all() -> list[AlertDelivery]:
    """Make every due delivery's attempt here (what the alerts.deliver task does)."""
    done = []
    for delivery in AlertDelivery.objects.order_by("pk"):
        attempted = delivery_attempt(delivery.pk)
        if attempted is not None:
            done.append(attempted)
    return done


def events_of(monitor: AlertMonitor) -> list[AlertEvent]:
    return list(monitor.events.order_by("occurred_at", "created_at"))


@pytest.fixture(autouse=True)
def _fresh_monitor_cache():
    monitor_scopes_forget()
    yield
    monitor_scopes_forget()
