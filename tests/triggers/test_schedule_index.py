"""The fire-time index on its own: rows as dicts, no database, no Celery."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from triggers.schedules.index import ROW_FIELDS, FireIndex, publish_options

NOON = datetime(2026, 7, 4, 12, 0, 10, tzinfo=UTC)


def row(pk: int = 1, **fields) -> dict:
    """A ``PeriodicTask`` row as the adapter reads it: a minutely cron by default."""
    values = dict.fromkeys(ROW_FIELDS)
    values.update(
        pk=pk,
        name=f"Triggerfish: A / B / Tick [{pk}]",
        task="triggers.fire_schedule",
        kwargs=json.dumps({"instance_id": f"instance-{pk}", "flow_name": "Tick"}),
        enabled=True,
        date_changed=NOON,
        one_off=False,
        crontab_id=pk,
        crontab__minute="*",
        crontab__hour="*",
        crontab__day_of_month="*",
        crontab__month_of_year="*",
        crontab__day_of_week="*",
        crontab__timezone="UTC",
    )
    values.update(fields)
    return values


def placed(index: FireIndex, values: dict, *, now: datetime = NOON):
    entry = index.entry_from_row(values)
    assert entry is not None
    assert index.place(
        entry,
        last_run_at=values["last_run_at"],
        date_changed=values["date_changed"],
        pending_last_run=None,
        now=now,
    )
    return entry


def test_a_new_cron_schedule_is_due_at_its_next_minute() -> None:
    index = FireIndex()
    entry = placed(index, row())
    assert entry.due == datetime(2026, 7, 4, 12, 1, tzinfo=UTC)
    assert list(index.pop_due(NOON.timestamp())) == []
    assert list(index.pop_due(entry.due.timestamp())) == [entry]


def test_an_unchanged_row_is_not_placed_again() -> None:
    index = FireIndex()
    placed(index, row())
    again = index.entry_from_row(row())
    assert again is not None
    assert not index.place(
        again, last_run_at=None, date_changed=NOON, pending_last_run=None, now=NOON
    )


def test_rows_the_stock_logic_runs_get_no_entry() -> None:
    index = FireIndex()
    assert index.entry_from_row(row(one_off=True)) is None
    assert index.entry_from_row(row(kwargs="{}")) is None
    assert index.entry_from_row(row(crontab__minute="61")) is None
    assert index.entry_from_row(row(crontab_id=None)) is None


def test_a_replaced_or_removed_entry_leaves_no_live_heap_item() -> None:
    index = FireIndex()
    first = placed(index, row())
    moved = placed(index, row(date_changed=NOON + timedelta(seconds=1), crontab__minute="30"))
    assert list(index.pop_due(first.due.timestamp())) == []
    index.remove(moved.pk)
    assert list(index.pop_due(moved.due.timestamp())) == []


def test_missed_fires_are_planned_once_for_the_latest() -> None:
    index = FireIndex()
    entry = placed(index, row(last_run_at=NOON - timedelta(minutes=10)))
    (fire,) = index.fires_plan([entry], NOON)
    assert fire.slot == datetime(2026, 7, 4, 12, 0, tzinfo=UTC)
    assert fire.following == datetime(2026, 7, 4, 12, 1, tzinfo=UTC)
    index.fired(fire)
    assert entry.last_run == fire.slot and entry.due == fire.following


def test_intervals_count_from_the_change() -> None:
    index = FireIndex()
    entry = placed(
        index, row(crontab_id=None, interval_id=1, interval__every=10, interval__period="minutes")
    )
    assert entry.due == NOON + timedelta(minutes=10)


def test_other_entries_share_the_heap_and_only_their_latest_item_counts() -> None:
    index = FireIndex()
    index.push_other("sweep", NOON.timestamp())
    index.push_other("sweep", NOON.timestamp() + 60)
    assert list(index.pop_due(NOON.timestamp())) == []
    assert list(index.pop_due(NOON.timestamp() + 60)) == ["sweep"]


def test_publish_options_leave_out_what_the_row_does_not_set() -> None:
    assert publish_options(("beat", None, None, 5)) == {"queue": "beat", "priority": 5}
