"""Raising an alert: the cooldown, the held-back count, the recovery notice, and the
event row with its deliveries (SPEC §9).

For each monitor, instance and flow (and endpoint, for endpoint events) an ``AlertState``
row is locked while it is decided, so two workers noticing the same failure at once send
one notification and count the other.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from celery import current_app
from django.db import transaction
from django.utils import timezone

from alerts.events import RECOVERED_SUFFIX
from alerts.models import AlertDelivery, AlertEvent, AlertMonitor, AlertState, ChannelType
from alerts.scope import monitor_scopes_forget
from executions.models import Execution
from instances.models import Instance
from integrations.models import Integration

logger = logging.getLogger(__name__)


def alert_raise(
    *,
    monitor: AlertMonitor,
    instance: Instance | None,
    flow_name: str = "",
    subject: str = "",
    execution: Execution | None = None,
    details: dict[str, Any] | None = None,
    mark: str | None = None,
    now: datetime | None = None,
) -> AlertEvent | None:
    """Notify, or count the event as held back when the state's cooldown is running.
    ``mark`` names the occurrence, in an order that sorts as text (an overdue fire's
    time, an endpoint's minute, "failing" for a failing streak): one at or before the
    last raised is ignored, until a recovery clears it. Returns the notification, if one
    was made."""
    now = now or timezone.now()
    with transaction.atomic():
        state = _state_locked(monitor, instance, flow_name, subject)
        if mark is not None:
            if state.mark and mark <= state.mark:
                return None  # this occurrence, or a later one, was raised already
            state.mark = mark
        state.active = True
        cooling = state.last_notified_at is not None and (
            (now - state.last_notified_at).total_seconds() < monitor.cooldown_seconds
        )
        if cooling:
            state.suppressed += 1
            state.save(update_fields=["mark", "active", "suppressed", "updated_at"])
            monitor_scopes_forget()
            return None
        event = _event_create(
            monitor=monitor,
            type=monitor.event,
            instance=instance,
            flow_name=flow_name,
            execution=execution,
            details=details or {},
            suppressed=state.suppressed,
            now=now,
        )
        state.suppressed = 0
        state.last_notified_at = now
        state.save(update_fields=["mark", "active", "suppressed", "last_notified_at", "updated_at"])
    # A recovery is owed now: this process's next end of a run of the flow must see it
    # (other processes do within the monitors' cache time, alerts.scope).
    monitor_scopes_forget()
    return event


def alert_recover(
    *,
    monitor: AlertMonitor,
    instance: Instance | None,
    flow_name: str = "",
    subject: str = "",
    execution: Execution | None = None,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> AlertEvent | None:
    """Send ``<event>.recovered`` once, if a notification or a held-back event is owed
    one; never held back by the cooldown."""
    now = now or timezone.now()
    with transaction.atomic():
        state = (
            AlertState.objects.select_for_update()
            .filter(
                monitor=monitor,
                instance=instance,
                flow_name=flow_name,
                subject=subject,
                active=True,
            )
            .first()
        )
        if state is None:
            return None
        event = _event_create(
            monitor=monitor,
            type=monitor.event + RECOVERED_SUFFIX,
            instance=instance,
            flow_name=flow_name,
            execution=execution,
            details=details or {},
            suppressed=state.suppressed,
            now=now,
        )
        state.active = False
        state.suppressed = 0
        state.mark = ""
        state.save(update_fields=["active", "suppressed", "mark", "updated_at"])
    return event


def raised_for_execution(monitor: AlertMonitor, execution_id: uuid.UUID) -> bool:
    """Whether this monitor already sent a notification about this execution."""
    return AlertEvent.objects.filter(monitor=monitor, execution_id=execution_id).exists()


def _state_locked(
    monitor: AlertMonitor, instance: Instance | None, flow_name: str, subject: str
) -> AlertState:
    key = {"monitor": monitor, "instance": instance, "flow_name": flow_name, "subject": subject}
    state = AlertState.objects.select_for_update().filter(**key).first()
    if state is None:
        AlertState.objects.bulk_create([AlertState(**key)], ignore_conflicts=True)
        state = AlertState.objects.select_for_update().filter(**key).order_by("pk").first()
        assert state is not None
    return state


def _event_create(
    *,
    monitor: AlertMonitor,
    type: str,
    instance: Instance | None,
    flow_name: str,
    execution: Execution | None,
    details: dict[str, Any],
    suppressed: int,
    now: datetime,
) -> AlertEvent:
    event_id = uuid.uuid4()
    integration: Integration | None
    if execution is not None:
        integration = execution.integration
    elif instance is not None:
        integration = instance.integration
    else:
        integration = monitor.integration
    payload = notice_body(
        event_id=event_id,
        type=type,
        occurred_at=now,
        monitor=monitor,
        instance=instance,
        integration=integration,
        flow_name=flow_name,
        execution=execution,
        details=details,
        suppressed=suppressed,
    )
    event = AlertEvent.objects.create(
        id=event_id,
        monitor=monitor,
        type=type,
        occurred_at=now,
        instance=instance,
        flow_name=flow_name,
        execution_id=execution.pk if execution is not None else None,
        suppressed=suppressed,
        payload=payload,
    )
    deliveries = AlertDelivery.objects.bulk_create(
        [
            AlertDelivery(
                event=event,
                channel=channel,
                channel_type=channel.type,
                target=channel.url
                if channel.type == ChannelType.WEBHOOK
                else ", ".join(channel.to),
                next_attempt_at=now,
            )
            for channel in monitor.channels.all()
        ]
    )
    logger.info(
        "Alert %s: %s for instance %s flow %r (%d held back)",
        monitor.name,
        type,
        instance.pk if instance is not None else "-",
        flow_name,
        suppressed,
    )
    if deliveries:
        ids = [delivery.pk for delivery in deliveries]
        transaction.on_commit(lambda: deliveries_send(ids))
    return event


def deliveries_send(delivery_ids: list[int]) -> None:
    """Hand deliveries to the workers (``alerts.deliver``, sent by name: the task module
    sits above this one)."""
    for delivery_id in delivery_ids:
        try:
            current_app.send_task("alerts.deliver", args=[delivery_id])
        except Exception:  # the periodic check sends what is still pending
            logger.exception("Could not hand alert delivery %s to the broker", delivery_id)


def notice_body(
    *,
    event_id: uuid.UUID,
    type: str,
    occurred_at: datetime,
    monitor: AlertMonitor,
    instance: Instance | None,
    integration: Integration | None,
    flow_name: str,
    execution: Execution | None,
    details: dict[str, Any],
    suppressed: int,
) -> dict[str, Any]:
    """The notification's JSON (SPEC §9, the webhook channel)."""
    customer = instance.customer if instance is not None else None
    return {
        "id": str(event_id),
        "type": type,
        "occurredAt": occurred_at.isoformat(),
        "monitor": {"id": str(monitor.pk), "name": monitor.name},
        "customer": (
            {"id": str(customer.pk), "name": customer.name, "externalId": customer.external_id}
            if customer is not None
            else None
        ),
        "instance": (
            {"id": str(instance.pk), "name": instance.name} if instance is not None else None
        ),
        "integration": (
            {"id": str(integration.pk), "name": integration.name, "version": integration.version}
            if integration is not None
            else None
        ),
        "flow": {"name": flow_name} if flow_name else None,
        "execution": (
            {
                "id": str(execution.pk),
                "status": execution.status,
                "error": execution.error,
                "startedAt": execution.started_at.isoformat() if execution.started_at else None,
                "endedAt": execution.ended_at.isoformat() if execution.ended_at else None,
            }
            if execution is not None
            else None
        ),
        "details": details,
        "suppressed": suppressed,
    }
