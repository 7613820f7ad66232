"""Beat's scheduler for Triggerfish: django-celery-beat's tables, fire times from
integrations.schedules, and room for tens of thousands of instance schedules.

``celery -A config beat -S triggers.schedules.scheduler:TriggerfishScheduler`` (the default
``CELERY_BEAT_SCHEDULER``). It is a subclass of django-celery-beat's ``DatabaseScheduler``
and keeps its models as the store, so the admin, the stock scheduler and this one read and
write the same rows. This module is the Celery side (reading rows, publishing, writing
back); which instance schedule fires when, a missed fire run once included, is the
fire-time index's (triggers.schedules.index). What differs from the stock scheduler (see
docs/schedules.md and the measurements in docs/performance.md):

* **Loads in bounded batches.** Rows are read ``batch_size`` at a time by primary key, with
  their schedule rows joined in; no ``IN (...)`` lists or per-hour CASE expressions, so
  SQLite's expression-depth limit (the stock scheduler's crash at 1,000 tasks) never comes
  near.
* **Reloads incrementally.** It polls ``PeriodicTasks.last_update`` every
  ``change_check_seconds``; on a change it reads only rows whose ``date_changed`` moved,
  plus the list of enabled ids (to see deletions and disables), and every
  ``full_sync_seconds`` it reads everything again.
* **Publishes in batches.** Instance schedule fires (task ``triggers.fire_schedule``)
  leave as ``triggers.fire_schedules`` messages of up to ``fires_per_message``
  ``[task id, instance id, flow name, scheduled time]`` items, which a worker fans out
  into executions. The scheduled time travels with the fire, so the worker's claim
  makes a duplicate delivery harmless.
* ``last_run_at`` (the scheduled time of the last fire) is written back in bulk UPDATEs a
  few seconds after a burst, without touching ``date_changed``.

Any other periodic task (the recovery sweep, an operator's own task, solar or clocked
schedules, start times, expiry, one-off tasks) goes through django-celery-beat's own
``ModelEntry`` logic in the same heap, exactly as the stock scheduler would run it.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import close_old_connections
from django.db.models import F, QuerySet
from django.db.utils import DatabaseError, InterfaceError
from django_celery_beat.models import PeriodicTask, PeriodicTasks
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry

from triggers.schedules.index import (
    ROW_FIELDS,
    FireEntry,
    FireIndex,
    PlannedFire,
    publish_options,
)
from triggers.schedules.periodic_tasks import FIRE_BATCH_TASK, FIRE_TASK

logger = logging.getLogger(__name__)


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
        self._index = FireIndex()
        self._generic: dict[str, ModelEntry] = {}
        self._generic_fingerprints: dict[str, tuple] = {}
        # Stock entries to write back: our own set, not DatabaseScheduler's private _dirty.
        self._generic_dirty: set[str] = set()
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
        schedules live in the index only."""
        return self._generic

    @property
    def info(self) -> str:
        return (
            f"    . triggerfish: {len(self._fires)} instance schedules, "
            f"{len(self._generic)} other tasks"
        )

    @property
    def _fires(self) -> dict[int, FireEntry]:
        """The instance schedules, by ``PeriodicTask`` primary key."""
        return self._index.entries

    @property
    def _due_heap(self) -> list[tuple[float, int, int | str]]:
        """Every due time, instance schedules' and the other entries' (tests read it)."""
        return self._index.heap

    # Loading -------------------------------------------------------------------------------

    def _rows(self, queryset: QuerySet[PeriodicTask]) -> Iterator[dict[str, Any]]:
        """Rows as dicts, ``batch_size`` at a time by primary key."""
        last_pk = 0
        while True:
            batch = list(
                queryset.filter(pk__gt=last_pk)
                .order_by("pk")
                .values(*ROW_FIELDS)[: self.batch_size]
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
            self._index.remove(pk)
        for name in set(self._generic) - seen_generic:
            self._generic_forget(name)
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
            self._index.remove(pk)
            touched += 1
        for name, entry in list(self._generic.items()):
            if entry.model.pk not in enabled:
                self._generic_forget(name)
                touched += 1
        known = set(self._fires) | {e.model.pk for e in self._generic.values()}
        missing = sorted(enabled - known)
        for start in range(0, len(missing), self.batch_size):
            chunk = missing[start : start + self.batch_size]
            for row in PeriodicTask.objects.filter(pk__in=chunk).values(*ROW_FIELDS):
                touched += self._upsert(
                    row, now=now, seen_fires=seen_fires, seen_generic=seen_generic
                )
        if not touched:
            # A change the rows do not show (a schedule row edited on its own): read all.
            self._load_all()
        else:
            logger.info("TriggerfishScheduler: schedule changed (%d tasks)", touched)

    def _upsert(
        self,
        row: dict[str, Any],
        *,
        now: datetime,
        seen_fires: set[int],
        seen_generic: set[str],
    ) -> int:
        """Add or refresh one row; 1 when the schedule changed, else 0."""
        pk = row["pk"]
        if not row["enabled"]:
            removed = self._index.remove(pk)
            for name, entry in list(self._generic.items()):
                if entry.model.pk == pk:
                    self._generic_forget(name)
                    removed = True
            return int(removed)
        entry = self._index.entry_from_row(row) if row["task"] == FIRE_TASK else None
        if entry is None:
            self._index.remove(pk)
            seen_generic.add(row["name"])
            return self._generic_upsert(row)
        seen_fires.add(pk)
        pending = self._pending_runs.get(pk)
        placed = self._index.place(
            entry,
            last_run_at=row["last_run_at"],
            date_changed=row["date_changed"],
            pending_last_run=pending[0] if pending else None,
            now=now,
        )
        return int(placed)

    def _generic_upsert(self, row: dict[str, Any]) -> int:
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
        self._index.push_other(name, time.time())
        return 1

    def _generic_forget(self, name: str) -> None:
        self._generic.pop(name, None)
        self._generic_fingerprints.pop(name, None)
        self._index.forget_other(name)

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
        for item in self._index.pop_due(now):
            if isinstance(item, str):
                self._run_generic(item)
            else:
                due.append(item)
        if due:
            self._fire(due, datetime.fromtimestamp(now, UTC))
        if self._pending_runs and time.monotonic() >= self._next_flush:
            self.sync()
        next_due = self._index.next_due()
        wake = min(
            next_due - time.time() if next_due is not None else self.max_interval,
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
        groups: dict[tuple, list[PlannedFire]] = defaultdict(list)
        for fire in self._index.fires_plan(entries, now):
            groups[fire.entry.options_key].append(fire)
        for options_key, fires in groups.items():
            options = publish_options(options_key)
            for start in range(0, len(fires), self.fires_per_message):
                chunk = fires[start : start + self.fires_per_message]
                try:
                    self.app.send_task(
                        FIRE_BATCH_TASK,
                        args=[[_fire_item(fire) for fire in chunk]],
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
                    for fire in chunk:
                        self._index.push_at(fire.entry, retry_at)
                    continue
                for fire in chunk:
                    self._index.fired(fire)
                    _previous, count = self._pending_runs.get(fire.entry.pk, (fire.slot, 0))
                    self._pending_runs[fire.entry.pk] = (fire.slot, count + 1)
        logger.info("TriggerfishScheduler: sent %d schedule fires", len(entries))
        self._next_flush = time.monotonic() + self.flush_seconds

    def _run_generic(self, name: str) -> None:
        entry = self._generic.get(name)
        if entry is None:
            return
        try:
            is_due, next_delay = entry.is_due()
        except Exception:
            # What celery.beat's own loop does (in its private ``_is_due_failed``): one
            # entry whose next run cannot be computed must not stop beat and every other
            # entry with it, so it is logged and looked at again after ``max_interval``.
            logger.error(
                "TriggerfishScheduler: cannot calculate the next run of %r, trying again in %s s",
                entry.name,
                self.max_interval,
                exc_info=True,
            )
            is_due, next_delay = False, self.max_interval
        if is_due:
            new_entry = self.reserve(entry)
            self.apply_entry(entry, producer=self.producer)
            self._generic[name] = new_entry
            entry = new_entry
            self._next_flush = min(self._next_flush, time.monotonic() + self.flush_seconds)
        self._index.push_other(name, time.time() + max(float(next_delay or self.max_interval), 0.0))

    # Writing back --------------------------------------------------------------------------

    def reserve(self, entry: ModelEntry) -> ModelEntry:
        """The entry's next run (``next(entry)`` counts this run), written at ``sync``."""
        new_entry = next(entry)
        self._generic_dirty.add(new_entry.name)
        return new_entry

    def sync(self) -> None:
        """Write ``last_run_at`` (and run counts) of sent fires in bulk, and the stock
        entries' state the stock way."""
        if not self._pending_runs and not self._generic_dirty:
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
            while self._generic_dirty:
                name = self._generic_dirty.pop()
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


def _fire_item(fire: PlannedFire) -> list[Any]:
    """One fire in a ``triggers.fire_schedules`` message (see triggers.schedules.tasks)."""
    entry = fire.entry
    return [entry.pk, entry.instance_id, entry.flow_name, fire.slot.isoformat()]
