"""Which enabled monitors watch what: each process keeps them in memory for a few seconds,
so a run's end asks no query when nothing could be watching it."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

from django.db.models import QuerySet

from alerts.models import AlertMonitor

# How long a process trusts its copy; a saved monitor clears this process's copy at once
# (alerts.receivers), other processes see it within this many seconds.
MONITORS_CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class MonitorScope:
    id: uuid.UUID
    event: str
    integration_name: str | None
    customer_id: uuid.UUID | None
    instance_id: uuid.UUID | None
    flow_name: str

    def covers(
        self,
        *,
        integration_name: str | None,
        customer_id: object,
        instance_id: object,
        flow_name: str,
    ) -> bool:
        """An argument None is not known to the caller, so not checked."""
        return (
            (
                self.integration_name is None
                or integration_name is None
                or self.integration_name == integration_name
            )
            and (
                self.customer_id is None
                or customer_id is None
                or str(self.customer_id) == str(customer_id)
            )
            and (
                self.instance_id is None
                or instance_id is None
                or str(self.instance_id) == str(instance_id)
            )
            and (not self.flow_name or self.flow_name == flow_name)
        )


_lock = threading.Lock()
_cached: tuple[float, list[MonitorScope]] | None = None


def monitor_scopes() -> list[MonitorScope]:
    """The enabled monitors' scopes, at most ``MONITORS_CACHE_SECONDS`` old."""
    global _cached
    with _lock:
        cached = _cached
    if cached is not None and time.monotonic() - cached[0] < MONITORS_CACHE_SECONDS:
        return cached[1]
    scopes = [
        MonitorScope(
            id=row["id"],
            event=row["event"],
            integration_name=row["integration__name"],
            customer_id=row["customer_id"],
            instance_id=row["instance_id"],
            flow_name=row["flow_name"],
        )
        for row in AlertMonitor.objects.filter(enabled=True).values(
            "id", "event", "integration__name", "customer_id", "instance_id", "flow_name"
        )
    ]
    with _lock:
        _cached = (time.monotonic(), scopes)
    return scopes


def monitor_scopes_forget() -> None:
    global _cached
    with _lock:
        _cached = None


def monitors_watching(events: set[str]) -> QuerySet[AlertMonitor]:
    """Enabled monitors of these events, with what their notices need."""
    return AlertMonitor.objects.filter(enabled=True, event__in=events).select_related("integration")


def monitor_covers(
    monitor: AlertMonitor,
    *,
    integration_name: str,
    customer_id: object,
    instance_id: object,
    flow_name: str,
) -> bool:
    return MonitorScope(
        id=monitor.pk,
        event=monitor.event,
        integration_name=monitor.integration.name if monitor.integration else None,
        customer_id=monitor.customer_id,
        instance_id=monitor.instance_id,
        flow_name=monitor.flow_name,
    ).covers(
        integration_name=integration_name,
        customer_id=customer_id,
        instance_id=instance_id,
        flow_name=flow_name,
    )
