"""The wizard's schedule picker: what the user picks, as a schedule value, and back.

A schedule config value is ``{scheduleType, value: <cron>, timeZone}`` (SPEC §4,
``integrations.schedules``). The picker offers the common shapes and writes the cron for
the user:

* ``minute``: every N minutes             → ``*/N * * * *``
* ``hour``:   every N hours at minute M    → ``M */N * * *``
* ``day``:    every N days at HH:MM        → ``MM HH */N * *`` (cron counts days from the
  1st of each month, which the live preview makes visible)
* ``week``:   every week on a weekday at HH:MM → ``MM HH * * D`` (cron cannot say "every
  second week", so weekly is the longest interval the picker writes)
* ``custom``: a cron string as typed; ``none``: never fires.

Validation, fire times and descriptions are ``integrations.schedules``' own, so the
wizard's preview and the API's ``nextRuns`` are the same computation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from integrations.schedule_preview import (
    fire_time_display,
    schedule_preview,
    time_zone_names,
)
from integrations.schedules import ScheduleError, schedule_value_clean

# Shared with the admin's trigger editor, so both show one preview (re-exported here for
# the wizard's callers).
__all__ = ["fire_time_display", "schedule_preview", "time_zone_names"]

PICKER_TYPES = [
    ("minute", "Every N minutes"),
    ("hour", "Every N hours"),
    ("day", "Every N days"),
    ("week", "Every week"),
    ("custom", "Custom cron"),
    ("none", "Never"),
]
WEEKDAYS = [
    ("1", "Monday"),
    ("2", "Tuesday"),
    ("3", "Wednesday"),
    ("4", "Thursday"),
    ("5", "Friday"),
    ("6", "Saturday"),
    ("0", "Sunday"),
]
EVERY_LIMITS = {"minute": 59, "hour": 23, "day": 31}


@dataclass
class Picker:
    """The picker's fields, as text, the way a form posts them."""

    type: str = "minute"
    every: str = "5"
    minute: str = "0"
    time: str = "09:00"
    weekday: str = "1"
    cron: str = ""
    zone: str = "UTC"


@dataclass
class PickerError(Exception):
    """Messages per picker field (``type``, ``every``, ``minute``, ``time``, ``weekday``,
    ``cron``, ``zone``)."""

    fields: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return "; ".join(f"{k}: {v}" for k, v in self.fields.items())


def _whole(text: str, *, low: int, high: int, name: str) -> int:
    text = (text or "").strip()
    if not text.isdigit() or not low <= int(text) <= high:
        raise PickerError({name: f"Enter a whole number from {low} to {high}."})
    return int(text)


def _clock(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::\d{2})?", (text or "").strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise PickerError({"time": "Enter a time of day as HH:MM, e.g. 08:30."})
    return int(match[1]), int(match[2])


def picker_cron(picker: Picker) -> str:
    """The cron string the picker stands for ("" for ``none``); PickerError if a field is
    out of range. A custom cron is returned as typed and checked by the schedule code."""
    kind = picker.type
    if kind == "none":
        return ""
    if kind == "custom":
        return " ".join((picker.cron or "").split())
    if kind == "minute":
        every = _whole(picker.every, low=1, high=EVERY_LIMITS["minute"], name="every")
        return "* * * * *" if every == 1 else f"*/{every} * * * *"
    if kind == "hour":
        every = _whole(picker.every, low=1, high=EVERY_LIMITS["hour"], name="every")
        minute = _whole(picker.minute, low=0, high=59, name="minute")
        return f"{minute} * * * *" if every == 1 else f"{minute} */{every} * * *"
    if kind == "day":
        every = _whole(picker.every, low=1, high=EVERY_LIMITS["day"], name="every")
        hour, minute = _clock(picker.time)
        return f"{minute} {hour} * * *" if every == 1 else f"{minute} {hour} */{every} * *"
    if kind == "week":
        hour, minute = _clock(picker.time)
        if picker.weekday not in dict(WEEKDAYS):
            raise PickerError({"weekday": "Choose a day of the week."})
        return f"{minute} {hour} * * {picker.weekday}"
    raise PickerError({"type": "Choose how often the schedule fires."})


def picker_schedule_value(picker: Picker) -> dict[str, Any]:
    """The stored schedule value for the picker, validated by ``schedule_value_clean``;
    PickerError names the picker field at fault."""
    value = {"scheduleType": picker.type, "value": picker_cron(picker), "timeZone": picker.zone}
    try:
        return schedule_value_clean(value)
    except ScheduleError as error:
        where = {"value": "cron", "timeZone": "zone", "scheduleType": "type"}.get(
            error.field, "cron" if picker.type == "custom" else "type"
        )
        raise PickerError({where: str(error)}) from error


_PATTERNS = [
    ("minute", re.compile(r"\*(?:/(?P<every>\d+))? \* \* \* \*")),
    ("hour", re.compile(r"(?P<minute>\d+) \*(?:/(?P<every>\d+))? \* \* \*")),
    ("day", re.compile(r"(?P<m>\d+) (?P<h>\d+) \*(?:/(?P<every>\d+))? \* \*")),
    ("week", re.compile(r"(?P<m>\d+) (?P<h>\d+) \* \* (?P<weekday>[0-6])")),
]


def picker_from_value(value: Any) -> Picker:
    """The picker showing a stored schedule value: its own shape when the cron is one the
    picker writes, else ``custom`` with the cron as stored."""
    if not isinstance(value, dict):
        return Picker()
    cron = " ".join(str(value.get("value") or "").split())
    zone = value.get("timeZone") or "UTC"
    if value.get("scheduleType") == "none":
        return Picker(type="none", zone=zone)
    for kind, pattern in _PATTERNS:
        match = pattern.fullmatch(cron)
        if not match:
            continue
        groups = match.groupdict()
        picker = Picker(type=kind, zone=zone, cron=cron, every=groups.get("every") or "1")
        if "minute" in groups:
            picker.minute = groups["minute"]
        if "h" in groups:
            if int(groups["h"]) > 23 or int(groups["m"]) > 59:
                break
            picker.time = f"{int(groups['h']):02d}:{int(groups['m']):02d}"
        if "weekday" in groups:
            picker.weekday = groups["weekday"]
        return picker
    return Picker(type="custom", cron=cron, zone=zone)


def picker_preview(picker: Picker, *, after: datetime | None = None) -> dict[str, Any]:
    """The preview for what the user has typed so far, or the errors per picker field."""
    try:
        value = picker_schedule_value(picker)
    except PickerError as error:
        return {"ok": False, "errors": error.fields, "description": "", "nextRuns": []}
    return {"ok": True, "errors": {}, "value": value, **schedule_preview(value, after=after)}
