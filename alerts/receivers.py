"""What connects alerts to the rest: a run's end (``executions.hooks.execution_ended``),
saved monitors, and the periodic checker each worker starts (alerts.checks)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery import current_app
from celery.signals import worker_ready, worker_shutdown
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from alerts.checker import checker_start, checker_stop
from alerts.detection import execution_may_be_watched
from alerts.models import AlertChannel, AlertMonitor
from alerts.scope import monitor_scopes_forget
from executions.hooks import execution_ended

logger = logging.getLogger(__name__)


@receiver(execution_ended)
def execution_ended_check(
    *,
    execution_id: uuid.UUID | str,
    status: str,
    retry_scheduled: bool,
    customer_id: object,
    instance_id: object,
    flow_name: str,
    **_kwargs: Any,
) -> None:
    """Hand the run's end to a task when a monitor could be watching it: the run's worker
    spends a lookup in memory, and a publish only then."""
    if execution_may_be_watched(
        status=status, customer_id=customer_id, instance_id=instance_id, flow_name=flow_name
    ):
        current_app.send_task("alerts.execution_check", args=[str(execution_id), retry_scheduled])


@receiver(post_save, sender=AlertMonitor)
@receiver(post_delete, sender=AlertMonitor)
@receiver(post_save, sender=AlertChannel)
def monitors_changed(**_kwargs: Any) -> None:
    monitor_scopes_forget()


@worker_ready.connect
def alert_checker_start(**_kwargs: Any) -> None:
    checker_start()


@worker_shutdown.connect
def alert_checker_stop(**_kwargs: Any) -> None:
    checker_stop()
