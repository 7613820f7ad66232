"""Which enabled monitors watch what, and which flows are owed a recovery notice: each
process keeps both in memory for a few seconds, so a run's end asks no query when nothing
could be watching it."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

from django.db.models import QuerySet

from alerts.models import AlertMonitor, AlertState

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
# (when read, the enabled monitors' scopes, the (instance id, flow name) pairs owed a
# recovery notice)
_cached: tuple[float, list[MonitorScope], frozenset[tuple[str, str]]] | None = None


def _snapshot() -> tuple[float, list[MonitorScope], frozenset[tuple[str, str]]]:
    global _cached
    with _lock:
        cached = _cached
    if cached is not None and time.monotonic() - cached[0] < MONITORS_CACHE_SECONDS:
        return cached
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
    owed = frozenset(
        (str(instance_id), flow_name)
        for instance_id, flow_name in AlertState.objects.filter(
            active=True, monitor__enabled=True
        ).values_list("instance_id", "flow_name")
    )
    fresh = (time.monotonic(), scopes, owed)
    with _lock:
        _cached = fresh
    return fresh


def monitor_scopes() -> list[MonitorScope]:
    """The enabled monitors' scopes, at most ``MONITORS_CACHE_SECONDS`` old."""
    return _snapshot()[1]


def recovery_owed(*, instance_id: object, flow_name: str) -> bool:
    """Whether some monitor owes this instance's flow a recovery notice (as of at most
    ``MONITORS_CACHE_SECONDS`` ago; ``instance_id`` None: any instance's flow of that
    name). A success that finds nothing owed publishes no task."""
    owed = _snapshot()[2]
    if instance_id is None:
        return any(name == flow_name for _, name in owed)
    return (str(instance_id), flow_name) in owed


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
