"""Celery tasks of schedule triggers: thin wrappers that take ids and call services.

* ``triggers.fire_schedule`` is the task every schedule ``PeriodicTask`` names, with
  kwargs ``{instance_id, flow_name}``: django-celery-beat's stock ``DatabaseScheduler``
  sends it as is (the scheduled time is then worked out here, see
  ``stock_fire_time``); a caller may pass ``scheduled_time`` (ISO 8601).
* ``triggers.fire_schedules`` is what the project's scheduler (triggers.schedules.scheduler) sends:
  one message carrying many ``[periodic task id, instance id, flow name, scheduled time]``
  fires, fanned out here into executions.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from celery import shared_task

from triggers.schedules.fire import FireRequest, batch_fires_start, schedule_fire, stock_fire_time

logger = logging.getLogger(__name__)

# Fires that failed for an infrastructure reason are sent again this many times.
FIRE_RETRIES = 3
FIRE_RETRY_DELAY_SECONDS = 5


def _parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@shared_task(name="triggers.fire_schedule", bind=True, ignore_result=True)
def fire_schedule(
    self: Any, instance_id: str, flow_name: str, scheduled_time: str | None = None
) -> None:
    message_id = None
    if scheduled_time is None:
        # Sent by the stock scheduler: no scheduled time in the message, so the message
        # id is the duplicate-delivery key.
        message_id = self.request.id
        moment = stock_fire_time(
            instance_id=instance_id, flow_name=flow_name, now=datetime.now(UTC)
        )
    else:
        moment = _parse_time(scheduled_time)
    schedule_fire(
        instance_id=instance_id, flow_name=flow_name, scheduled_time=moment, message_id=message_id
    )


@shared_task(name="triggers.fire_schedules", ignore_result=True)
def fire_schedules(fires: list[list[Any]], attempt: int = 0) -> int:
    """Start the executions of a batch of fires; returns how many were started or
    skipped. A fire that fails (database trouble) is sent again in a smaller batch; the
    claims make a repeat harmless."""
    done = 0
    failed = []
    requests = [FireRequest(str(fire[1]), fire[2], _parse_time(fire[3])) for fire in fires]
    # Together first, as far as they can be; the rest one by one.
    try:
        done, rest = batch_fires_start(requests)
    except Exception:  # database trouble: every fire goes the one-by-one way below; a
        # poll this batch already claimed is not polled again (its cursor did not move,
        # so the next fire asks from the same place)
        logger.exception("A batch of %d fires could not be placed", len(fires))
        rest = list(range(len(fires)))
    for index in rest:
        fire = fires[index]
        request = requests[index]
        try:
            if schedule_fire(
                instance_id=request.instance_id,
                flow_name=request.flow_name,
                scheduled_time=request.scheduled_time,
            ):
                done += 1
        except Exception:  # one bad fire must not stop the rest of the batch
            logger.exception(
                "Schedule fire %s %r @ %s failed",
                request.instance_id,
                request.flow_name,
                request.scheduled_time.isoformat(),
            )
            failed.append(fire)
    if failed and attempt < FIRE_RETRIES:
        fire_schedules.apply_async(
            args=(failed,), kwargs={"attempt": attempt + 1}, countdown=FIRE_RETRY_DELAY_SECONDS
        )
    elif failed:
        logger.error("Giving up on %d schedule fires after %d attempts", len(failed), attempt + 1)
    return done
