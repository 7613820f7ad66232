"""An instance's schedule flows as django-celery-beat rows (SPEC §4, STYLE "Schedules").

Every schedule flow of a deployed instance gets one ``PeriodicTask`` with a schedule row of
its own (a ``CrontabSchedule`` for cron, an ``IntervalSchedule`` for intervals), never
shared: django-celery-beat deletes a task together with its schedule row. The task is

* created on deploy,
* changed when a redeploy brings a new flow version or a config value changes the
  schedule (an unchanged task is not written at all),
* disabled while the instance is paused, enabled again with it,
* deleted with its schedule row on remove, or when the flow or its schedule goes away
  (a ``{configVar}`` whose value is ``scheduleType: none``, or no value).

Polling flows (SPEC §8) get their task the same way: their fires poll
(triggers.schedules.poll). Their poll state is kept by flow name, and deleted here with
the flow or the instance.

Names and kwargs let an operator find the instance flow from the admin::

    name    Triggerfish: Acme / Main / Nightly Sync [<instance id>]
    kwargs  {"instance_id": "<instance id>", "flow_name": "Nightly Sync"}

The task is ``triggers.fire_schedule`` (see triggers.schedules.tasks): django-celery-beat's stock
``DatabaseScheduler`` sends it as is; the project's scheduler (triggers.schedules.scheduler) reads
the same rows, computes fire times with integrations.schedules and sends batches.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from instances.models import Instance, PollState
from integrations.models import Flow, TriggerType
from integrations.schedules import ScheduleError, schedule_describe, schedule_resolve
from integrations.schedules import schedule_validate as _schedule_validate

logger = logging.getLogger(__name__)

FIRE_TASK = "triggers.fire_schedule"
FIRE_BATCH_TASK = "triggers.fire_schedules"
NAME_PREFIX = "Triggerfish: "
_NAME_MAX = 200  # PeriodicTask.name

# IntervalSchedule has no weeks; a week is seven days (fixed elapsed time either way).
_INTERVAL_PERIODS = {
    "minutes": (IntervalSchedule.MINUTES, 1),
    "hours": (IntervalSchedule.HOURS, 1),
    "days": (IntervalSchedule.DAYS, 1),
    "weeks": (IntervalSchedule.DAYS, 7),
}


def schedule_flows(integration_flows: Any) -> list[Flow]:
    """The flows a schedule starts: schedule triggers, and component triggers given a
    schedule (definitions allow one where the component declares schedule support)."""
    not_scheduled = {
        TriggerType.WEBHOOK,
        TriggerType.HMAC_WEBHOOK,
        TriggerType.INSTANCE_DEPLOY,
        TriggerType.INSTANCE_REMOVE,
    }
    return [
        flow
        for flow in integration_flows
        if flow.schedule and flow.trigger_type not in not_scheduled
    ]


def flow_schedule_resolve(*, instance: Instance, flow: Flow) -> dict | None:
    """The schedule this instance's flow fires on, or None when it never fires
    (``{configVar}`` with no value or ``scheduleType: none``, or a value that no longer
    parses — logged, since config values are validated when stored)."""
    if flow.schedule is None:
        return None
    resolved = schedule_resolve(flow.schedule, config_values=instance.config_values or {})
    if not resolved:
        return None
    if resolved.get("scheduleType") == "none":
        return None
    try:
        _schedule_validate(resolved)
    except ScheduleError as error:
        logger.warning(
            "Instance %s flow %r has an invalid schedule %r: %s; not scheduled",
            instance.pk,
            flow.name,
            resolved,
            error,
        )
        return None
    if "configVar" in resolved:
        return None
    return resolved


@dataclass(frozen=True)
class ScheduleRow:
    """What a task's own schedule row must hold: ``kind`` is ``crontab`` or ``interval``."""

    kind: str
    fields: dict[str, Any]

    def build(self) -> CrontabSchedule | IntervalSchedule:
        model = CrontabSchedule if self.kind == "crontab" else IntervalSchedule
        return model(**self.fields)

    def matches(self, row: Any) -> bool:
        return all(
            _field_text(getattr(row, key)) == _field_text(v) for key, v in self.fields.items()
        )


def _field_text(value: Any) -> str:
    # CrontabSchedule.timezone reads back as a ZoneInfo; compare by its name.
    return str(getattr(value, "key", value))


def schedule_row(schedule: dict) -> ScheduleRow:
    """The beat schedule row for a resolved schedule (cron or value form, or interval).
    Cron fields are stored as written, in the schedule's own zone."""
    if "every" in schedule:
        period, factor = _INTERVAL_PERIODS[schedule["unit"]]
        return ScheduleRow("interval", {"every": schedule["every"] * factor, "period": period})
    cron = schedule["value"] if "scheduleType" in schedule else schedule["cron"]
    minute, hour, day_of_month, month_of_year, day_of_week = cron.split()
    return ScheduleRow(
        "crontab",
        {
            "minute": minute,
            "hour": hour,
            "day_of_month": day_of_month,
            "month_of_year": month_of_year,
            "day_of_week": day_of_week,
            "timezone": schedule.get("timeZone") or "UTC",
        },
    )


def task_name(
    *, customer_name: str, instance_name: str, flow_name: str, instance_id: uuid.UUID | str
) -> str:
    """``Triggerfish: <customer> / <instance> / <flow> [<instance id>]``, shortened to the
    200 characters PeriodicTask allows; a shortened name carries a hash of the flow name so
    two long flow names of one instance stay distinct."""
    suffix = f" [{instance_id}]"
    full = f"{NAME_PREFIX}{customer_name} / {instance_name} / {flow_name}{suffix}"
    if len(full) <= _NAME_MAX:
        return full
    digest = hashlib.sha1(flow_name.encode(), usedforsecurity=False).hexdigest()[:8]
    room = _NAME_MAX - len(NAME_PREFIX) - len(suffix) - len(" / ") * 2 - len(" #") - len(digest)
    customer_part = customer_name[: max(8, room // 4)]
    instance_part = instance_name[: max(8, room // 4)]
    flow_part = flow_name[: room - len(customer_part) - len(instance_part)]
    return f"{NAME_PREFIX}{customer_part} / {instance_part} / {flow_part} #{digest}{suffix}"


def task_kwargs(*, instance_id: uuid.UUID | str, flow_name: str) -> str:
    return json.dumps({"instance_id": str(instance_id), "flow_name": flow_name})


def _task_description(instance: Instance, flow: Flow, schedule: dict) -> str:
    integration = instance.integration
    return (
        f"Schedule flow {flow.name!r} of instance {instance.name!r} "
        f"(customer {instance.customer.name!r}), integration {integration.name!r} "
        f"v{integration.version}: {schedule_describe(schedule)}. Managed by Triggerfish: "
        "deploy, pause, enable, remove and config changes rewrite this task."
    )


def instance_periodic_tasks(instance_id: uuid.UUID | str) -> dict[str, PeriodicTask]:
    """The instance's fire tasks by flow name."""
    tasks = PeriodicTask.objects.filter(task=FIRE_TASK, name__endswith=f"[{instance_id}]")
    found: dict[str, PeriodicTask] = {}
    for task in tasks.select_related("crontab", "interval"):
        try:
            kwargs = json.loads(task.kwargs or "{}")
        except ValueError:
            kwargs = {}
        if kwargs.get("instance_id") != str(instance_id) or "flow_name" not in kwargs:
            continue
        found[kwargs["flow_name"]] = task
    return found


@transaction.atomic
def instance_schedules_sync(*, instance: Instance) -> list[PeriodicTask]:
    """Make the instance's periodic tasks match its state and its flows' schedules;
    returns the tasks that exist afterwards. Idempotent: called after deploy, pause,
    enable, remove and config value updates (instances.lifecycle)."""
    instance = Instance.objects.select_related("customer", "integration").get(pk=instance.pk)
    wanted: dict[str, tuple[Flow, dict]] = {}
    if instance.is_deployed:
        for flow in schedule_flows(instance.integration.flows.all()):
            resolved = flow_schedule_resolve(instance=instance, flow=flow)
            if resolved is not None:
                wanted[flow.name] = (flow, resolved)
    _poll_states_sync(instance)
    existing = instance_periodic_tasks(instance.pk)
    for flow_name, task in existing.items():
        if flow_name not in wanted:
            periodic_task_delete(task)
    result = []
    for flow_name, (flow, resolved) in wanted.items():
        result.append(
            _task_put(instance, flow, resolved, existing.get(flow_name), enabled=instance.enabled)
        )
    return result


def _poll_states_sync(instance: Instance) -> None:
    """Poll state (cursor, seen ids) is kept by flow name across redeploys and pauses;
    dropped for a flow the deployed version no longer polls, and all of it on remove."""
    states = PollState.objects.filter(instance=instance)
    if instance.removed_at is None:
        polling = [flow.name for flow in instance.integration.flows.all() if flow.is_polling]
        states = states.exclude(flow_name__in=polling)
    states.delete()


def _task_put(
    instance: Instance,
    flow: Flow,
    schedule: dict,
    task: PeriodicTask | None,
    *,
    enabled: bool,
) -> PeriodicTask:
    row = schedule_row(schedule)
    name = task_name(
        customer_name=instance.customer.name,
        instance_name=instance.name,
        flow_name=flow.name,
        instance_id=instance.pk,
    )
    kwargs = task_kwargs(instance_id=instance.pk, flow_name=flow.name)
    description = _task_description(instance, flow, schedule)
    if task is None:
        schedule_object = row.build()
        schedule_object.save()
        task = PeriodicTask(
            name=name,
            task=FIRE_TASK,
            kwargs=kwargs,
            description=description,
            enabled=enabled,
            **{row.kind: schedule_object},
        )
        task.save()
        return task

    changed = False
    old_row = None
    current = task.crontab if row.kind == "crontab" else task.interval
    if current is None or not row.matches(current):
        changed = True
        # The fire times start over from now, not from a run under the old schedule.
        task.last_run_at = None
        if current is not None:
            for key, value in row.fields.items():
                setattr(current, key, value)
            current.save()
        else:
            old_row = task.crontab or task.interval or task.solar or task.clocked
            schedule_object = row.build()
            schedule_object.save()
            task.crontab = task.interval = task.solar = task.clocked = None
            setattr(task, row.kind, schedule_object)
    for field, value in (
        ("name", name),
        ("kwargs", kwargs),
        ("description", description),
        ("enabled", enabled),
        ("task", FIRE_TASK),
        ("one_off", False),
    ):
        if getattr(task, field) != value:
            setattr(task, field, value)
            changed = True
    if changed:
        task.save()
    if old_row is not None:
        _schedule_row_delete(old_row)
    return task


def periodic_task_delete(task: PeriodicTask) -> None:
    """Delete a task and then its own schedule row (the other order would cascade)."""
    rows = [row for row in (task.crontab, task.interval, task.solar, task.clocked) if row]
    task.delete()
    for row in rows:
        _schedule_row_delete(row)


def _schedule_row_delete(row: Any) -> None:
    # Rows are never shared by Triggerfish, but an operator may have pointed another task
    # at one in the admin: deleting it then would delete that task too.
    field = {
        CrontabSchedule: "crontab",
        IntervalSchedule: "interval",
    }.get(type(row))
    if field and PeriodicTask.objects.filter(**{field: row}).exists():
        return
    row.delete()
