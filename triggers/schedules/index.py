"""The fire-time index: which instance-flow schedules fire when.

* Fire times come from integrations.schedules (croniter walked in the schedule's own zone,
  Debian cron's DST rules), not from Celery's crontab, whose DST handling has open bugs.
  Intervals count from the last fire (or from the task's last change).
* A missed fire (its time fell while beat was down) is due at once; it fires for the
  latest missed time only, not once per missed slot.

Pure bookkeeping and schedule math (integrations.schedules), no Celery and no database:
the beat adapter (triggers.schedules.scheduler) reads ``PeriodicTask`` rows as dicts,
hands the instance schedules among them to a ``FireIndex`` and asks it what is due; the
fire task (triggers.schedules.fire) uses ``schedule_latest_due`` to date a fire that the
stock scheduler sent without a time.

Every schedule sits in one heap keyed by its next fire time, so a tick pops only what is
due. The heap also holds the beat adapter's other entries (by name), so one loop serves
both. A heap item is never removed when its schedule changes: each push takes a new
sequence number, and an item whose number is no longer its schedule's is skipped when
popped.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from integrations.schedules import (
    INTERVAL_UNITS,
    ScheduleError,
    schedule_next_runs,
    schedule_validate,
)

logger = logging.getLogger(__name__)

#: The ``PeriodicTask`` columns a row dict carries (``QuerySet.values(*ROW_FIELDS)``),
#: with the schedule row's fields joined in.
ROW_FIELDS = (
    "pk",
    "name",
    "task",
    "kwargs",
    "enabled",
    "last_run_at",
    "date_changed",
    "queue",
    "exchange",
    "routing_key",
    "priority",
    "one_off",
    "start_time",
    "expires",
    "expire_seconds",
    "crontab_id",
    "crontab__minute",
    "crontab__hour",
    "crontab__day_of_month",
    "crontab__month_of_year",
    "crontab__day_of_week",
    "crontab__timezone",
    "interval_id",
    "interval__every",
    "interval__period",
    "solar_id",
    "clocked_id",
)

# Windows to look back over for the latest due time of a cron schedule, smallest first,
# so a minutely schedule costs a handful of steps and a yearly one is still found.
_LOOKBACK_WINDOWS = (
    timedelta(minutes=2),
    timedelta(hours=2),
    timedelta(days=2),
    timedelta(days=8),
    timedelta(days=32),
    timedelta(days=400),
)
# The publishing options a row may set, in the order of ``FireEntry.options_key``.
_OPTION_NAMES = ("queue", "exchange", "routing_key", "priority")
# Cached "next fire after this minute" answers before the cache starts again.
_NEXT_CACHE_LIMIT = 100_000


def schedule_step(schedule: dict) -> timedelta | None:
    """The fixed period of an interval schedule; None for cron and value forms."""
    if "every" in schedule:
        return INTERVAL_UNITS[schedule["unit"]] * schedule["every"]
    return None


def schedule_latest_due(schedule: dict, *, after: datetime, now: datetime) -> datetime | None:
    """The latest fire time ``t`` with ``after < t <= now`` (UTC), or None. A fire missed
    while beat was down runs once, for this time (not once per missed slot)."""
    step = schedule_step(schedule)
    if step is not None:
        count = (now - after) // step
        return (after + step * count).astimezone(UTC) if count >= 1 else None
    for window in (*_LOOKBACK_WINDOWS, None):
        start = after if window is None else max(after, now - window)
        latest = _latest_walk(schedule, start=start, now=now)
        if latest is not None or start == after:
            return latest
    return None


def _latest_walk(schedule: dict, *, start: datetime, now: datetime) -> datetime | None:
    latest = None
    count = 4
    for _ in range(64):
        runs = schedule_next_runs(schedule, count=count, after=start)
        for run in runs:
            if run > now:
                return latest
            latest = run.astimezone(UTC)
        if len(runs) < count:
            return latest
        start = runs[-1]
        count = min(count * 4, 1000)
    return latest


def publish_options(options_key: tuple) -> dict[str, Any]:
    """The publishing options of an ``options_key`` that the row sets."""
    return {
        name: value
        for name, value in zip(_OPTION_NAMES, options_key, strict=True)
        if value is not None
    }


def aware(moment: datetime | None) -> datetime | None:
    """``moment`` in UTC; a naive database value is read as UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _minute_floor(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


@dataclass(eq=False, slots=True)
class FireEntry:
    """One instance schedule in the index."""

    pk: int  # the PeriodicTask's
    instance_id: str  # as the task's kwargs spell it
    flow_name: str
    spec: dict | None  # the cron schedule (integrations.schedules form); None for intervals
    spec_key: tuple
    step: timedelta | None  # an interval's period; None for cron
    options_key: tuple  # (queue, exchange, routing_key, priority) of the row
    fingerprint: tuple  # what the row said; an unchanged row is not read again
    last_run: datetime | None = None
    due: datetime | None = None
    seq: int = -1  # the sequence number of this entry's current heap item


@dataclass(frozen=True, slots=True)
class PlannedFire:
    """One fire to send: ``slot`` is its scheduled time, ``following`` the next one."""

    entry: FireEntry
    slot: datetime
    following: datetime | None


HeapItem = tuple[float, int, int | str]  # (due timestamp, sequence, pk or other name)


class FireIndex:
    """Instance schedules by ``PeriodicTask`` primary key, and the heap of due times."""

    def __init__(self) -> None:
        self.entries: dict[int, FireEntry] = {}
        self.heap: list[HeapItem] = []
        self._seq = itertools.count()
        self._other_seq: dict[str, int] = {}
        self._next_cache: dict[tuple, datetime | None] = {}
        self._valid_specs: dict[tuple, bool] = {}

    # Rows ----------------------------------------------------------------------------------

    def entry_from_row(self, row: dict[str, Any]) -> FireEntry | None:
        """An entry for a row of the instance-fire task; None for a row this index does not
        run (start times, expiry, one-off, solar or clocked schedules, bad kwargs or cron):
        the adapter leaves those to django-celery-beat's own entry logic."""
        if (
            row["one_off"]
            or row["start_time"] is not None
            or row["expires"] is not None
            or row["expire_seconds"] is not None
            or row["solar_id"] is not None
            or row["clocked_id"] is not None
        ):
            return None
        try:
            kwargs = json.loads(row["kwargs"] or "{}")
            instance_id, flow_name = kwargs["instance_id"], kwargs["flow_name"]
        except (ValueError, KeyError, TypeError):
            return None
        spec: dict | None
        step: timedelta | None
        spec_key: tuple
        if row["crontab_id"] is not None:
            zone = row["crontab__timezone"]
            zone_name = str(getattr(zone, "key", zone) or "UTC")
            cron = " ".join(
                str(row[f"crontab__{field}"])
                for field in ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
            )
            spec = {"cron": cron, "timeZone": zone_name}
            spec_key = ("cron", cron, zone_name)
            step = None
            if not self._spec_valid(spec_key, spec):
                return None
        elif row["interval_id"] is not None:
            try:
                step = timedelta(**{row["interval__period"]: row["interval__every"]})
            except TypeError:
                return None
            if step <= timedelta(0):
                return None
            spec, spec_key = None, ("interval", step.total_seconds())
        else:
            return None
        options_key = (row["queue"], row["exchange"], row["routing_key"], row["priority"])
        return FireEntry(
            pk=row["pk"],
            instance_id=instance_id,
            flow_name=flow_name,
            spec=spec,
            spec_key=spec_key,
            step=step,
            options_key=options_key,
            fingerprint=(row["name"], row["kwargs"], row["date_changed"], spec_key, options_key),
        )

    def _spec_valid(self, key: tuple, spec: dict) -> bool:
        valid = self._valid_specs.get(key)
        if valid is None:
            try:
                schedule_validate(spec)
                valid = True
            except ScheduleError as error:
                logger.error("TriggerfishScheduler: cannot run cron %r: %s", spec, error)
                valid = False
            self._valid_specs[key] = valid
        return valid

    def place(
        self,
        entry: FireEntry,
        *,
        last_run_at: datetime | None,
        date_changed: datetime | None,
        pending_last_run: datetime | None,
        now: datetime,
    ) -> bool:
        """Add or replace the entry of its row; False when the row is unchanged.

        Its last run is the latest of what the row says (``last_run_at``), what this index
        last fired, and a fire sent but not yet written back (``pending_last_run``)."""
        current = self.entries.get(entry.pk)
        if current is not None and current.fingerprint == entry.fingerprint:
            return False
        db_last = aware(last_run_at)
        memory_last = current.last_run if current is not None else None
        known = [t for t in (db_last, memory_last, pending_last_run) if t is not None]
        if db_last is None:
            # Never run, or reset by a schedule change or by re-enabling: count from the
            # change, never before a fire already sent.
            known.append(aware(date_changed) or now)
        entry.last_run = max(known)
        entry.due = self.next_after(entry, entry.last_run)
        self.entries[entry.pk] = entry
        self.push(entry)
        return True

    def remove(self, pk: int) -> bool:
        """Forget a row's entry (its heap item is skipped when popped); False when absent."""
        return self.entries.pop(pk, None) is not None

    # Fire times ----------------------------------------------------------------------------

    def next_after(self, entry: FireEntry, after: datetime) -> datetime | None:
        if entry.step is not None:
            return after + entry.step
        assert entry.spec is not None  # a cron entry
        # Cron fires on whole minutes, so the next fire after any moment of a minute is
        # the next after its start: one computation serves every schedule of that minute.
        key = (entry.spec_key, _minute_floor(after))
        if key not in self._next_cache:
            if len(self._next_cache) > _NEXT_CACHE_LIMIT:
                self._next_cache.clear()
            runs = schedule_next_runs(entry.spec, count=1, after=key[1])
            self._next_cache[key] = runs[0].astimezone(UTC) if runs else None
        return self._next_cache[key]

    @staticmethod
    def _latest_due(entry: FireEntry, after: datetime, now: datetime, cache: dict) -> datetime:
        """The latest fire time after ``after`` and not after ``now``."""
        if entry.step is not None:
            return after + entry.step * ((now - after) // entry.step)
        assert entry.spec is not None  # a cron entry
        key = (entry.spec_key, after)
        if key not in cache:
            cache[key] = schedule_latest_due(entry.spec, after=after, now=now)
        return cache[key] or after

    def fires_plan(self, entries: Iterable[FireEntry], now: datetime) -> list[PlannedFire]:
        """The fires of entries popped as due. Fires missed (beat was down) run once, for
        the latest of them."""
        planned = []
        latest_cache: dict = {}
        for entry in entries:
            slot = entry.due
            assert slot is not None  # only an entry with a due time is in the heap
            following = self.next_after(entry, slot)
            if following is not None and following <= now:
                slot = self._latest_due(entry, slot, now, latest_cache)
                following = self.next_after(entry, slot)
            planned.append(PlannedFire(entry=entry, slot=slot, following=following))
        return planned

    def fired(self, fire: PlannedFire) -> None:
        """A planned fire was sent: its entry is due next at ``fire.following``."""
        fire.entry.last_run = fire.slot
        fire.entry.due = fire.following
        self.push(fire.entry)

    # The heap ------------------------------------------------------------------------------

    def push(self, entry: FireEntry) -> None:
        """Queue the entry at its due time (an entry that never fires again is not)."""
        if entry.due is None:
            return
        self.push_at(entry, entry.due.timestamp())

    def push_at(self, entry: FireEntry, when: float) -> None:
        entry.seq = next(self._seq)
        heapq.heappush(self.heap, (when, entry.seq, entry.pk))

    def push_other(self, name: str, when: float) -> None:
        """Queue one of the adapter's other entries, by name, replacing its earlier item."""
        seq = next(self._seq)
        self._other_seq[name] = seq
        heapq.heappush(self.heap, (when, seq, name))

    def forget_other(self, name: str) -> None:
        self._other_seq.pop(name, None)

    def pop_due(self, now: float) -> Iterator[FireEntry | str]:
        """Pop every current item due at ``now``: an instance schedule's entry, or the name
        of one of the adapter's other entries. A generator: what the caller pushes while
        it runs is popped too when it is due by then."""
        heap = self.heap
        while heap and heap[0][0] <= now:
            _when, seq, key = heapq.heappop(heap)
            if isinstance(key, str):
                if self._other_seq.get(key) == seq:
                    yield key
                continue
            entry = self.entries.get(key)
            if entry is not None and entry.seq == seq:
                yield entry

    def next_due(self) -> float | None:
        """The timestamp of the earliest heap item (it may be stale), or None."""
        return self.heap[0][0] if self.heap else None
