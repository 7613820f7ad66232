"""Schedules as written in definitions and config values: validate, list next fire times,
describe in words. Pure functions, no database: definition validation, the schedule engine
and the API all use them.

Forms (SPEC §4):

* interval ``{every: N, unit: minutes|hours|days|weeks}``
* cron ``{cron: "<5 fields>", timeZone: <IANA>}`` (``timeZone`` defaults to UTC)
* config variable ``{configVar: <key>}``: resolved per instance to the variable's value
  (:func:`schedule_resolve`), which has the value form
* value ``{scheduleType: none|minute|hour|day|week|custom, value: "<cron>", timeZone}``:
  ``value`` is a cron string for every ``scheduleType`` except ``none`` (never fires);
  ``scheduleType`` only records which picker the user chose.

Cron fire times follow Debian cron's DST rules, the ones operators expect:

* a job at a fixed wall time that falls in the spring-forward gap runs once, at the first
  moment after the gap (``30 2 * * *`` in America/Chicago on 2026-03-08 runs at 03:00 CDT);
* a job at a fixed wall time in the repeated fall-back hour runs once, at the first
  occurrence;
* a job with ``*`` in its minute or hour field follows the real clock: it runs in both
  passes of a repeated hour and not at all in a skipped one.

croniter on zone-aware datetimes gets the first rule right but runs fixed-time jobs twice
in a repeated hour, so croniter here walks naive wall-clock times and this module maps
each wall time to real instants itself.

Interval schedules are fixed elapsed durations (a "day" is 24 hours, even across DST),
anchored at the time they are counted from: the ``after`` argument, which the schedule
engine sets to the last run (or the deploy time). They are reported in UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from croniter import CroniterBadCronError, CroniterBadDateError, CroniterError, croniter

INTERVAL_UNITS = {
    "minutes": timedelta(minutes=1),
    "hours": timedelta(hours=1),
    "days": timedelta(days=1),
    "weeks": timedelta(weeks=1),
}
# Longer intervals are better written as cron, and capping them keeps date arithmetic
# far from datetime's limits.
MAX_INTERVAL = timedelta(weeks=52)
SCHEDULE_TYPES = ("none", "minute", "hour", "day", "week", "custom")

# Wall-clock times whose instants may still lie after ``after``: a fall-back fold can put
# the second pass of a wall time up to this far behind the first in local terms.
_FOLD_MARGIN = timedelta(hours=3)
_MAX_COUNT = 1000


class ScheduleError(ValueError):
    """A schedule is malformed. ``field`` names the key at fault ("" for the whole)."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def zone_get(name: Any) -> ZoneInfo:
    """An IANA zone by name, or ScheduleError. Rejects paths and local-only names that
    ZoneInfo would otherwise accept from the host's tz database."""
    if not isinstance(name, str) or not name:
        raise ScheduleError("Time zone must be an IANA name such as America/Chicago.")
    if name not in _known_zones():
        raise ScheduleError(f"Unknown time zone {name!r}; use an IANA name such as Europe/Paris.")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ScheduleError(f"Unknown time zone {name!r}.") from error


_zones_cache: set[str] = set()


def _known_zones() -> set[str]:
    if not _zones_cache:
        _zones_cache.update(available_timezones())
        _zones_cache.add("UTC")
    return _zones_cache


def cron_validate(cron: Any) -> None:
    """Five fields, parseable, and able to fire at least once (``0 0 31 2 *`` cannot)."""
    if not isinstance(cron, str) or not cron.strip():
        raise ScheduleError("Cron must be a string of five fields.")
    fields = cron.split()
    if len(fields) != 5:
        raise ScheduleError(
            f"Cron {cron!r} has {len(fields)} fields; five are needed "
            "(minute hour day-of-month month day-of-week)."
        )
    try:
        croniter(cron, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError as error:
        raise ScheduleError(f"Cron {cron!r} never fires.") from error
    except (CroniterBadCronError, CroniterError, ValueError, KeyError) as error:
        raise ScheduleError(f"Cron {cron!r} is not valid: {error}.") from error


def _schedule_kind(schedule: Any) -> str:
    if not isinstance(schedule, dict):
        raise ScheduleError("A schedule must be a mapping.")
    if "scheduleType" in schedule:
        return "value"
    if "cron" in schedule:
        return "cron"
    if "configVar" in schedule:
        return "config_var"
    if "every" in schedule or "unit" in schedule:
        return "interval"
    raise ScheduleError(
        "A schedule needs one of: {every, unit}, {cron, timeZone}, {configVar} "
        "or {scheduleType, value, timeZone}."
    )


_ALLOWED_KEYS = {
    "interval": {"every", "unit"},
    "cron": {"cron", "timeZone"},
    "config_var": {"configVar"},
    "value": {"scheduleType", "value", "timeZone"},
}


def schedule_validate(schedule: dict) -> None:
    """Raise ScheduleError (a ValueError) naming the field at fault, or return None.

    A ``{configVar}`` schedule is valid here when it names a key; whether that key is a
    schedule variable is the definition's business."""
    kind = _schedule_kind(schedule)
    for key in schedule:
        if key not in _ALLOWED_KEYS[kind]:
            raise ScheduleError(f"Unknown key {key!r} in this schedule form.", field=str(key))
    if kind == "interval":
        every, unit = schedule.get("every"), schedule.get("unit")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ScheduleError("'every' must be a whole number of at least 1.", field="every")
        if unit not in INTERVAL_UNITS:
            raise ScheduleError(f"'unit' must be one of {', '.join(INTERVAL_UNITS)}.", field="unit")
        if INTERVAL_UNITS[unit] * every > MAX_INTERVAL:
            raise ScheduleError("An interval may be at most 52 weeks.", field="every")
    elif kind == "cron":
        _field_error(cron_validate, schedule.get("cron"), field="cron")
        if "timeZone" in schedule:
            _field_error(zone_get, schedule["timeZone"], field="timeZone")
    elif kind == "config_var":
        if not isinstance(schedule["configVar"], str) or not schedule["configVar"]:
            raise ScheduleError("'configVar' must name a config variable.", field="configVar")
    else:
        schedule_type = schedule.get("scheduleType")
        if schedule_type not in SCHEDULE_TYPES:
            raise ScheduleError(
                f"'scheduleType' must be one of {', '.join(SCHEDULE_TYPES)}.",
                field="scheduleType",
            )
        if "timeZone" in schedule:
            _field_error(zone_get, schedule["timeZone"], field="timeZone")
        value = schedule.get("value")
        if schedule_type == "none":
            if value not in (None, "") and not isinstance(value, str):
                raise ScheduleError("'value' must be a cron string.", field="value")
        else:
            if value in (None, ""):
                raise ScheduleError("'value' (a cron string) is required.", field="value")
            _field_error(cron_validate, value, field="value")


def _field_error(check: Any, value: Any, *, field: str) -> None:
    try:
        check(value)
    except ScheduleError as error:
        raise ScheduleError(str(error), field=field) from error


def schedule_value_clean(value: dict) -> dict:
    """The stored shape of a config variable's schedule value: validated, every key
    present (``value`` "" and ``timeZone`` UTC when left out)."""
    if not isinstance(value, dict) or "scheduleType" not in value:
        raise ScheduleError("A schedule value is {scheduleType, value, timeZone}.")
    schedule_validate(value)
    return {
        "scheduleType": value["scheduleType"],
        "value": value.get("value") or "",
        "timeZone": value.get("timeZone") or "UTC",
    }


def schedule_resolve(schedule: dict, *, config_values: dict[str, Any]) -> dict | None:
    """A flow's schedule with ``{configVar}`` replaced by that variable's value (None when
    the instance has no value for it); other forms come back unchanged."""
    if isinstance(schedule, dict) and set(schedule) == {"configVar"}:
        return config_values.get(schedule["configVar"])
    return schedule


def schedule_time_zone(schedule: dict) -> ZoneInfo:
    """The zone a schedule's fire times are shown in: its own, or UTC (intervals)."""
    if _schedule_kind(schedule) in {"cron", "value"}:
        return zone_get(schedule.get("timeZone") or "UTC")
    return ZoneInfo("UTC")


def schedule_next_runs(
    schedule: dict, *, count: int = 5, after: datetime | None = None
) -> list[datetime]:
    """The next ``count`` fire times strictly after ``after`` (default: now), as aware
    datetimes in the schedule's zone. Intervals count from ``after`` itself."""
    schedule_validate(schedule)
    if not 0 <= count <= _MAX_COUNT:
        raise ValueError(f"count must be between 0 and {_MAX_COUNT}.")
    if after is None:
        after = datetime.now(UTC)
    elif after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("'after' must be timezone-aware.")
    kind = _schedule_kind(schedule)
    if kind == "config_var":
        raise ValueError("Resolve a {configVar} schedule to its value first (schedule_resolve).")
    if kind == "interval":
        step = INTERVAL_UNITS[schedule["unit"]] * schedule["every"]
        start = after.astimezone(UTC)
        return [start + step * n for n in range(1, count + 1)]
    if kind == "value":
        if schedule["scheduleType"] == "none":
            return []
        cron = schedule["value"]
    else:
        cron = schedule["cron"]
    return _cron_next_runs(cron, zone=schedule_time_zone(schedule), after=after, count=count)


def _cron_next_runs(cron: str, *, zone: ZoneInfo, after: datetime, count: int) -> list[datetime]:
    if count == 0:
        return []
    minute, hour = cron.split()[:2]
    follows_clock = "*" in minute or "*" in hour
    # Start a little before ``after`` in wall time: the second pass of a repeated hour
    # happens after the first in real time though its wall time is the same.
    walk = croniter(cron, after.astimezone(zone).replace(tzinfo=None) - _FOLD_MARGIN)
    after_utc = after.astimezone(UTC)
    # Kept in UTC: aware datetimes sharing one tzinfo compare (and hash) by wall time alone,
    # which would merge the two passes of a repeated hour.
    found: set[datetime] = set()
    while True:
        wall = walk.get_next(datetime)
        for instant in _wall_instants(wall, zone=zone, follows_clock=follows_clock):
            instant_utc = instant.astimezone(UTC)
            if instant_utc > after_utc:
                found.add(instant_utc)
        if len(found) >= count:
            last = sorted(found)[count - 1]
            # Later wall times cannot produce an instant earlier than this one once they
            # are more than the fold margin past it.
            if wall - _FOLD_MARGIN > last.astimezone(zone).replace(tzinfo=None):
                return [instant.astimezone(zone) for instant in sorted(found)[:count]]


def _wall_instants(wall: datetime, *, zone: ZoneInfo, follows_clock: bool) -> list[datetime]:
    """The real instants at which a naive wall-clock time happens in ``zone``."""
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return [first]
    if _exists(first):
        # A repeated wall time: both folds exist.
        return [first, second] if follows_clock else [first]
    # In a gap: the wall time never shows on a clock.
    return [] if follows_clock else [_gap_end(wall, zone=zone)]


def _exists(moment: datetime) -> bool:
    back = moment.astimezone(UTC).astimezone(moment.tzinfo)
    return back.replace(tzinfo=None) == moment.replace(tzinfo=None)


def _gap_end(wall: datetime, *, zone: ZoneInfo) -> datetime:
    """The first instant after the gap containing ``wall``: the moment the clock jumped."""
    # fold=1 reads the wall time with the offset after the jump, which lands before the
    # jump in real time; fold=0 uses the offset before it and lands after. The jump is
    # between; find it to the second.
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    after_offset = high.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == after_offset:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0).astimezone(zone)


_WEEKDAYS = {
    "0": "Sunday",
    "1": "Monday",
    "2": "Tuesday",
    "3": "Wednesday",
    "4": "Thursday",
    "5": "Friday",
    "6": "Saturday",
    "7": "Sunday",
}


def schedule_describe(schedule: dict) -> str:
    """The schedule in plain words, e.g. "Every 5 minutes" or "Every day at 02:30
    (America/Chicago)". Unusual cron strings are quoted as they are."""
    schedule_validate(schedule)
    kind = _schedule_kind(schedule)
    if kind == "interval":
        every, unit = schedule["every"], schedule["unit"]
        return f"Every {unit[:-1]}" if every == 1 else f"Every {every} {unit}"
    if kind == "config_var":
        return f"Set by config variable {schedule['configVar']!r}"
    if kind == "value":
        if schedule["scheduleType"] == "none":
            return "Never"
        cron = schedule["value"]
    else:
        cron = schedule["cron"]
    zone = schedule.get("timeZone") or "UTC"
    return _cron_describe(cron, zone)


def _cron_describe(cron: str, zone: str) -> str:
    minute, hour, day, month, weekday = cron.split()
    plain_day = day == "*" and month == "*"
    if plain_day and weekday == "*":
        if minute == "*" and hour == "*":
            return "Every minute"
        if hour == "*" and (match := re.fullmatch(r"\*/(\d+)", minute)):
            return f"Every {match[1]} minutes"
        if hour == "*" and minute.isdigit():
            return f"Every hour at minute {int(minute)}"
        if minute.isdigit() and (match := re.fullmatch(r"\*/(\d+)", hour)):
            return f"Every {match[1]} hours at minute {int(minute)} ({zone})"
    if plain_day and minute.isdigit() and hour.isdigit():
        at = f"{int(hour):02d}:{int(minute):02d} ({zone})"
        if weekday == "*":
            return f"Every day at {at}"
        if weekday in _WEEKDAYS:
            return f"Every {_WEEKDAYS[weekday]} at {at}"
        if weekday == "1-5":
            return f"Every weekday at {at}"
    return f"On the cron schedule {cron!r} ({zone})"
