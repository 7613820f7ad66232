"""Beat's scheduler for Triggerfish: django-celery-beat's tables, fire times from
integrations.schedules, and room for tens of thousands of instance schedules.

``celery -A config beat -S triggers.schedules.scheduler:TriggerfishScheduler`` (the default
``CELERY_BEAT_SCHEDULER``). It is a subclass of django-celery-beat's ``DatabaseScheduler``
and keeps its models as the store, so the admin, the stock scheduler and this one read and
write the same rows. What it does differently (see docs/schedules.md and the measurements
in docs/performance.md):

* **Loads in bounded batches.** Rows are read ``batch_size`` at a time by primary key, with
  their schedule rows joined in; no ``IN (...)`` lists or per-hour CASE expressions, so
  SQLite's expression-depth limit (the stock scheduler's crash at 1,000 tasks) never comes
  near.
* **Indexes by next due time.** Every schedule sits in one heap keyed by its next fire
  time; a tick pops only what is due and sleeps until the next one.
* **Computes fire times with integrations.schedules** (croniter walked in the schedule's
  own zone, Debian cron's DST rules), not with Celery's crontab, whose DST handling has
  open bugs. Intervals count from the last fire (or from the task's last change).
* **Reloads incrementally.** It polls ``PeriodicTasks.last_update`` every
  ``change_check_seconds``; on a change it reads only rows whose ``date_changed`` moved,
  plus the list of enabled ids (to see deletions and disables), and every
  ``full_sync_seconds`` it reads everything again.
* **Publishes in batches.** Instance schedule fires (task ``triggers.fire_schedule``)
  leave as ``triggers.fire_schedules`` messages of up to ``fires_per_message``
  ``[task id, instance id, flow name, scheduled time]`` items, which a worker fans out
  into executions. The scheduled time travels with the fire, so the worker's claim
  makes a duplicate delivery harmless.
* **Runs a missed fire once.** A schedule whose fire fell while beat was down is due at
  once on start; it fires for the latest missed time only, not once per missed slot.
* ``last_run_at`` (the scheduled time of the last fire) is written back in bulk UPDATEs a
  few seconds after a burst, without touching ``date_changed``.

Any other periodic task (the recovery sweep, an operator's own task, solar or clocked
schedules, start times, expiry, one-off tasks) goes through django-celery-beat's own
``ModelEntry`` logic in the same heap, exactly as the stock scheduler would run it.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import close_old_connections
from django.db.models import F
from django.db.utils import DatabaseError, InterfaceError
from django_celery_beat.models import PeriodicTask, PeriodicTasks
from django_celery_beat.schedulers import DatabaseScheduler

from integrations.schedules import ScheduleError, schedule_next_runs, schedule_validate
from triggers.schedules.fire import schedule_latest_due
from triggers.schedules.periodic_tasks import FIRE_BATCH_TASK, FIRE_TASK

logger = logging.getLogger(__name__)

_ROW_FIELDS = (
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


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _minute_floor(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


class FireEntry:
    """One instance schedule in the heap."""

    __slots__ = (
        "due",
        "fingerprint",
        "flow_name",
        "instance_id",
        "last_run",
        "options_key",
        "pk",
        "seq",
        "spec",
        "spec_key",
        "step",
    )

    def __init__(self, **fields: Any) -> None:
        for key, value in fields.items():
            setattr(self, key, value)
        self.seq = -1


class TriggerfishScheduler(DatabaseScheduler):
    """See the module docstring."""

    #: Rows read per query while loading.
    batch_size = 1000
    #: Fires per ``triggers.fire_schedules`` message.
    fires_per_message = 500
    #: How often to look at ``PeriodicTasks.last_update`` for changes.
    change_check_seconds = 1.0
    #: How often to read every row again whatever the change marker says.
    full_sync_seconds = 300.0
    #: How long after a burst ``last_run_at`` is written back.
    flush_seconds = 2.0
    #: Rows re-read before the last check, for changes committed a little late.
    change_margin = timedelta(seconds=60)
    #: Delay before a fire whose message could not be published is tried again.
    publish_retry_seconds = 5.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._fires: dict[int, FireEntry] = {}
        self._generic: dict[str, Any] = {}
        self._generic_fingerprints: dict[str, tuple] = {}
        self._due_heap: list[tuple[float, int, Any]] = []
        self._seq = itertools.count()
        self._next_cache: dict[tuple, datetime | None] = {}
        self._valid_specs: dict[tuple, bool] = {}
        self._pending_runs: dict[int, tuple[datetime, int]] = {}
        self._last_change: datetime | None = None
        self._watermark: datetime | None = None
        self._next_change_check = 0.0
        self._next_full_sync = 0.0
        self._next_flush = 0.0
        self._loaded = False
        super().__init__(*args, **kwargs)

    # Set-up and the ``schedule`` mapping ---------------------------------------------------

    def setup_schedule(self) -> None:
        # The stock set-up writes CELERY_BEAT_SCHEDULE entries (the recovery sweep) as rows.
        super().setup_schedule()
        self._load_all()

    @property
    def schedule(self) -> dict[str, Any]:
        """The non-instance entries (stock ``ModelEntry`` objects), by name. Instance
        schedules live in the heap only."""
        return self._generic

    @property
    def info(self) -> str:
        return (
            f"    . triggerfish: {len(self._fires)} instance schedules, "
            f"{len(self._generic)} other tasks"
        )

    # Loading -------------------------------------------------------------------------------

    def _rows(self, queryset: Any) -> Any:
        """Rows as dicts, ``batch_size`` at a time by primary key."""
        last_pk = 0
        while True:
            batch = list(
                queryset.filter(pk__gt=last_pk)
                .order_by("pk")
                .values(*_ROW_FIELDS)[: self.batch_size]
            )
            yield from batch
            if len(batch) < self.batch_size:
                return
            last_pk = batch[-1]["pk"]

    def _load_all(self) -> None:
        started = time.monotonic()
        self._last_change = PeriodicTasks.last_change()
        now = datetime.now(UTC)
        self._watermark = now - self.change_margin
        seen_fires: set[int] = set()
        seen_generic: set[str] = set()
        for row in self._rows(PeriodicTask.objects.filter(enabled=True)):
            self._upsert(row, now=now, seen_fires=seen_fires, seen_generic=seen_generic)
        for pk in set(self._fires) - seen_fires:
            self._fires.pop(pk, None)
        for name in set(self._generic) - seen_generic:
            self._generic.pop(name, None)
            self._generic_fingerprints.pop(name, None)
        self._next_full_sync = time.monotonic() + self.full_sync_seconds
        self._loaded = True
        logger.info(
            "TriggerfishScheduler: loaded %d instance schedules and %d other tasks in %.2f s",
            len(self._fires),
            len(self._generic),
            time.monotonic() - started,
        )

    def _reload_changed(self) -> None:
        """Apply what changed since the last look: rows whose ``date_changed`` moved, rows
        that appeared, and rows deleted or disabled."""
        now = datetime.now(UTC)
        since, self._watermark = self._watermark, now - self.change_margin
        touched = 0
        seen_fires: set[int] = set()
        seen_generic: set[str] = set()
        for row in self._rows(PeriodicTask.objects.filter(date_changed__gte=since)):
            touched += self._upsert(row, now=now, seen_fires=seen_fires, seen_generic=seen_generic)
        enabled = set(PeriodicTask.objects.filter(enabled=True).values_list("pk", flat=True))
        for pk in set(self._fires) - enabled:
            del self._fires[pk]
            touched += 1
        for name, entry in list(self._generic.items()):
            if entry.model.pk not in enabled:
                del self._generic[name]
                self._generic_fingerprints.pop(name, None)
                touched += 1
        known = set(self._fires) | {e.model.pk for e in self._generic.values()}
        missing = sorted(enabled - known)
        for start in range(0, len(missing), self.batch_size):
            chunk = missing[start : start + self.batch_size]
            for row in PeriodicTask.objects.filter(pk__in=chunk).values(*_ROW_FIELDS):
                touched += self._upsert(
                    row, now=now, seen_fires=seen_fires, seen_generic=seen_generic
                )
        if not touched:
            # A change the rows do not show (a schedule row edited on its own): read all.
            self._load_all()
        else:
            logger.info("TriggerfishScheduler: schedule changed (%d tasks)", touched)

    def _upsert(
        self, row: dict, *, now: datetime, seen_fires: set[int], seen_generic: set[str]
    ) -> int:
        """Add or refresh one row; 1 when the heap changed, else 0."""
        pk = row["pk"]
        if not row["enabled"]:
            removed = self._fires.pop(pk, None) is not None
            for name, entry in list(self._generic.items()):
                if entry.model.pk == pk:
                    del self._generic[name]
                    removed = True
            return int(removed)
        entry = self._fire_entry(row)
        if entry is None:
            self._fires.pop(pk, None)
            seen_generic.add(row["name"])
            return self._generic_upsert(row, now=now)
        seen_fires.add(pk)
        current = self._fires.get(pk)
        if current is not None and current.fingerprint == entry.fingerprint:
            return 0
        db_last = _aware(row["last_run_at"])
        memory_last = current.last_run if current is not None else None
        pending = self._pending_runs.get(pk)
        known = [t for t in (db_last, memory_last, pending and pending[0]) if t is not None]
        if db_last is None:
            # Never run, or reset by a schedule change or by re-enabling: count from the
            # change, never before a fire already sent.
            known.append(_aware(row["date_changed"]) or now)
        entry.last_run = max(known)
        entry.due = self._next_after(entry, entry.last_run)
        self._fires[pk] = entry
        self._push(entry)
        return 1

    def _fire_entry(self, row: dict) -> FireEntry | None:
        """A heap entry for an instance schedule row; None for rows the stock logic runs."""
        if (
            row["task"] != FIRE_TASK
            or row["one_off"]
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
        if row["crontab_id"] is not None:
            zone = row["crontab__timezone"]
            zone_name = str(getattr(zone, "key", zone) or "UTC")
            cron = " ".join(
                str(row[f"crontab__{field}"])
                for field in ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
            )
            spec = {"cron": cron, "timeZone": zone_name}
            spec_key: tuple = ("cron", cron, zone_name)
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
            last_run=None,
            due=None,
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

    def _generic_upsert(self, row: dict, *, now: datetime) -> int:
        fingerprint = (row["date_changed"], row["task"], row["kwargs"])
        name = row["name"]
        if self._generic_fingerprints.get(name) == fingerprint and name in self._generic:
            return 0
        model = (
            PeriodicTask.objects.select_related("crontab", "interval", "solar", "clocked")
            .filter(pk=row["pk"])
            .first()
        )
        if model is None or not model.enabled:
            return 0
        try:
            entry = self.Entry(model, app=self.app)
        except ValueError:
            return 0
        self._generic[name] = entry
        self._generic_fingerprints[name] = fingerprint
        self._push_generic(entry, delay=0.0)
        return 1

    # Fire times ----------------------------------------------------------------------------

    def _next_after(self, entry: FireEntry, after: datetime) -> datetime | None:
        if entry.step is not None:
            return after + entry.step
        # Cron fires on whole minutes, so the next fire after any moment of a minute is
        # the next after its start: one computation serves every schedule of that minute.
        key = (entry.spec_key, _minute_floor(after))
        if key not in self._next_cache:
            if len(self._next_cache) > 100_000:
                self._next_cache.clear()
            runs = schedule_next_runs(entry.spec, count=1, after=key[1])
            self._next_cache[key] = runs[0].astimezone(UTC) if runs else None
        return self._next_cache[key]

    def _latest_due(
        self, entry: FireEntry, after: datetime, now: datetime, cache: dict
    ) -> datetime:
        """The latest fire time after ``after`` and not after ``now``."""
        if entry.step is not None:
            return after + entry.step * ((now - after) // entry.step)
        key = (entry.spec_key, after)
        if key not in cache:
            cache[key] = schedule_latest_due(entry.spec, after=after, now=now)
        return cache[key] or after

    def _push(self, entry: FireEntry) -> None:
        if entry.due is None:
            return
        entry.seq = next(self._seq)
        heapq.heappush(self._due_heap, (entry.due.timestamp(), entry.seq, entry.pk))

    def _push_generic(self, entry: Any, *, delay: float) -> None:
        seq = next(self._seq)
        entry._triggerfish_seq = seq
        heapq.heappush(self._due_heap, (time.time() + max(delay, 0.0), seq, ("g", entry.name)))

    # The loop ------------------------------------------------------------------------------

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not self._loaded:
            self._load_all()
        clock = time.monotonic()
        if clock >= self._next_change_check:
            self._next_change_check = clock + self.change_check_seconds
            self._check_changes(clock)
        now = time.time()
        due: list[FireEntry] = []
        heap = self._due_heap
        while heap and heap[0][0] <= now:
            _when, seq, key = heapq.heappop(heap)
            if isinstance(key, tuple):
                self._run_generic(key[1], seq)
                continue
            entry = self._fires.get(key)
            if entry is not None and entry.seq == seq:
                due.append(entry)
        if due:
            self._fire(due, datetime.fromtimestamp(now, UTC))
        if self._pending_runs and time.monotonic() >= self._next_flush:
            self.sync()
        wake = min(
            heap[0][0] - time.time() if heap else self.max_interval,
            self._next_change_check - time.monotonic(),
            self.max_interval,
        )
        if self._pending_runs:
            wake = min(wake, self._next_flush - time.monotonic())
        return max(wake, 0.0)

    def _check_changes(self, clock: float) -> None:
        try:
            close_old_connections()
            if clock >= self._next_full_sync:
                self._load_all()
                return
            last = PeriodicTasks.last_change()
            if last != self._last_change:
                self._last_change = last
                self._reload_changed()
        except (DatabaseError, InterfaceError) as error:
            logger.warning("TriggerfishScheduler: database error while checking changes: %r", error)

    def _fire(self, entries: list[FireEntry], now: datetime) -> None:
        groups: dict[tuple, list[tuple[FireEntry, list, datetime, datetime | None]]] = defaultdict(
            list
        )
        latest_cache: dict = {}
        for entry in entries:
            slot = entry.due
            following = self._next_after(entry, slot)
            if following is not None and following <= now:
                # Fires were missed (beat was down): run once, for the latest of them.
                slot = self._latest_due(entry, slot, now, latest_cache)
                following = self._next_after(entry, slot)
            item = [entry.pk, entry.instance_id, entry.flow_name, slot.isoformat()]
            groups[entry.options_key].append((entry, item, slot, following))
        for options_key, fires in groups.items():
            queue, exchange, routing_key, priority = options_key
            options = {
                key: value
                for key, value in (
                    ("queue", queue),
                    ("exchange", exchange),
                    ("routing_key", routing_key),
                    ("priority", priority),
                )
                if value is not None
            }
            for start in range(0, len(fires), self.fires_per_message):
                chunk = fires[start : start + self.fires_per_message]
                try:
                    self.app.send_task(
                        FIRE_BATCH_TASK,
                        args=[[item for _entry, item, _slot, _following in chunk]],
                        producer=self.producer,
                        **options,
                    )
                except Exception as error:  # the broker's client raises many types
                    logger.error(
                        "TriggerfishScheduler: could not publish %d fires (%r); "
                        "trying again in %.0f s",
                        len(chunk),
                        error,
                        self.publish_retry_seconds,
                    )
                    retry_at = time.time() + self.publish_retry_seconds
                    for entry, _item, _slot, _following in chunk:
                        entry.seq = next(self._seq)
                        heapq.heappush(self._due_heap, (retry_at, entry.seq, entry.pk))
                    continue
                for entry, _item, slot, following in chunk:
                    entry.last_run = slot
                    entry.due = following
                    _previous, count = self._pending_runs.get(entry.pk, (slot, 0))
                    self._pending_runs[entry.pk] = (slot, count + 1)
                    self._push(entry)
        logger.info("TriggerfishScheduler: sent %d schedule fires", len(entries))
        self._next_flush = time.monotonic() + self.flush_seconds

    def _run_generic(self, name: str, seq: int) -> None:
        entry = self._generic.get(name)
        if entry is None or getattr(entry, "_triggerfish_seq", None) != seq:
            return
        try:
            is_due, next_delay = entry.is_due()
        except Exception:
            is_due, next_delay = self._is_due_failed(entry)
        if is_due:
            new_entry = self.reserve(entry)
            self.apply_entry(entry, producer=self.producer)
            self._generic[name] = new_entry
            entry = new_entry
            self._next_flush = min(self._next_flush, time.monotonic() + self.flush_seconds)
        self._push_generic(entry, delay=float(next_delay or self.max_interval))

    # Writing back --------------------------------------------------------------------------

    def sync(self) -> None:
        """Write ``last_run_at`` (and run counts) of sent fires in bulk, and the stock
        entries' state the stock way."""
        if not self._pending_runs and not self._dirty:
            return
        pending, self._pending_runs = self._pending_runs, {}
        try:
            close_old_connections()
            grouped: dict[tuple[datetime, int], list[int]] = defaultdict(list)
            for pk, (slot, count) in pending.items():
                grouped[(slot, count)].append(pk)
            for (slot, count), pks in grouped.items():
                for start in range(0, len(pks), self.batch_size):
                    PeriodicTask.objects.filter(pk__in=pks[start : start + self.batch_size]).update(
                        last_run_at=slot, total_run_count=F("total_run_count") + count
                    )
            pending = {}
            while self._dirty:
                name = self._dirty.pop()
                entry = self._generic.get(name)
                if entry is not None:
                    try:
                        entry.save()
                    except PeriodicTask.DoesNotExist:
                        pass
        except (DatabaseError, InterfaceError) as error:
            logger.warning("TriggerfishScheduler: could not write last run times: %r", error)
        finally:
            for pk, value in pending.items():  # left over after an error: try again later
                self._pending_runs.setdefault(pk, value)
            self._next_flush = time.monotonic() + self.flush_seconds
