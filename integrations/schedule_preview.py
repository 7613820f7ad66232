"""What a schedule looks like to a person: its description and next fire times.

The wizard's schedule picker and the admin's trigger editor show the same preview, made
here from ``integrations.schedules``' own validation and fire times.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from integrations.schedules import (
    ScheduleError,
    schedule_describe,
    schedule_next_runs,
    schedule_resolve,
    schedule_validate,
)

PREVIEW_COUNT = 5


@cache
def time_zone_names() -> list[str]:
    """Every IANA zone, UTC first; ``integrations.schedules.zone_get`` still has the last
    word on what is accepted."""
    names = sorted(name for name in available_timezones() if "/" in name)
    return ["UTC", *names]


def fire_time_display(moment: datetime) -> str:
    """e.g. "Mon 9 Mar 2026, 08:00 CDT" — in the schedule's own zone."""
    return f"{moment:%a} {moment.day} {moment:%b %Y, %H:%M} {moment.tzname()}"


def schedule_preview(schedule: dict | None, *, after: datetime | None = None) -> dict[str, Any]:
    """What the wizard and the admin show under a schedule: the description and the next
    fire times."""
    if not schedule:
        return {"description": "No schedule set", "nextRuns": []}
    runs = schedule_next_runs(schedule, count=PREVIEW_COUNT, after=after)
    return {
        "description": schedule_describe(schedule),
        "nextRuns": [{"at": m.isoformat(), "display": fire_time_display(m)} for m in runs],
    }


def trigger_schedule_preview(
    schedule: dict[str, Any],
    *,
    variable_defaults: Mapping[str, Any],
    after: datetime | None = None,
) -> dict[str, Any]:
    """The preview of a flow trigger's schedule as the trigger editor holds it, or the
    errors per schedule key (``cron``, ``timeZone``, ``every``, ``unit``, ``configVar``).

    A ``{configVar}`` schedule is previewed with the variable's default: each customer may
    pick another in the wizard, which the note says.
    """
    try:
        schedule_validate(schedule)
    except ScheduleError as error:
        return _preview_errors({error.field or "schedule": str(error)})
    key = schedule.get("configVar")
    if key is None:
        return {"ok": True, "errors": {}, "note": "", **schedule_preview(schedule, after=after)}
    if key not in variable_defaults:
        return _preview_errors({"configVar": f"{key!r} is not a schedule config variable here."})
    value = schedule_resolve(schedule, config_values=dict(variable_defaults))
    if not value:
        note = f"{key} has no default: each customer picks the schedule in the wizard."
        return {"ok": True, "errors": {}, "note": note, "description": "", "nextRuns": []}
    note = f"With the default of {key}; each customer may pick another in the wizard."
    return {"ok": True, "errors": {}, "note": note, **schedule_preview(value, after=after)}


def _preview_errors(errors: dict[str, str]) -> dict[str, Any]:
    return {"ok": False, "errors": errors, "note": "", "description": "", "nextRuns": []}
