"""The alert tasks: thin wrappers over alerts.detection and alerts.delivery."""

from __future__ import annotations

from celery import shared_task

from alerts.delivery import delivery_attempt
from alerts.detection import execution_check


@shared_task(name="alerts.execution_check", ignore_result=True)
def execution_check_task(execution_id: str, retry_scheduled: bool) -> int:
    return len(execution_check(execution_id=execution_id, retry_scheduled=retry_scheduled))


@shared_task(name="alerts.deliver", ignore_result=True)
def deliver_task(delivery_id: int) -> str | None:
    delivery = delivery_attempt(delivery_id)
    return delivery.status if delivery is not None else None
