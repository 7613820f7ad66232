"""Schedule validation, next fire times (with both DST transitions) and descriptions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from integrations.schedules import (
    ScheduleError,
    schedule_describe,
    schedule_next_runs,
    schedule_resolve,
    schedule_validate,
)

CHICAGO = ZoneInfo("America/Chicago")
BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")


def iso(moments: list[datetime]) -> list[str]:
    return [moment.isoformat() for moment in moments]


def runs_on(schedule: dict, day: datetime, zone: ZoneInfo) -> list[datetime]:
    """Fire times within one local calendar day."""
    start = day.replace(tzinfo=zone)
    end = start + timedelta(days=1)
    return [
        run
        for run in schedule_next_runs(schedule, count=60, after=start - timedelta(seconds=1))
        if run.astimezone(zone).date() == start.date() and run < end
    ]


def test_daily_job_in_the_spring_forward_gap_fires_once_after_the_jump() -> None:
    schedule = {"cron": "30 2 * * *", "timeZone": "America/Chicago"}
    runs = runs_on(schedule, datetime(2026, 3, 8), CHICAGO)
    # 02:30 does not exist on 2026-03-08 in Chicago; the run happens when clocks jump.
    assert iso(runs) == ["2026-03-08T03:00:00-05:00"]


def test_daily_job_on_fall_back_day_fires_once() -> None:
    schedule = {"cron": "30 2 * * *", "timeZone": "America/Chicago"}
    assert iso(runs_on(schedule, datetime(2026, 11, 1), CHICAGO)) == ["2026-11-01T02:30:00-06:00"]


def test_daily_job_in_the_repeated_hour_fires_once_at_the_first_pass() -> None:
    # 01:30 happens twice on 2026-11-01 in Chicago (CDT, then CST); cron runs it once.
    schedule = {"cron": "30 1 * * *", "timeZone": "America/Chicago"}
    assert iso(runs_on(schedule, datetime(2026, 11, 1), CHICAGO)) == ["2026-11-01T01:30:00-05:00"]


def test_clock_following_job_runs_in_both_passes_of_the_repeated_hour() -> None:
    schedule = {"cron": "*/30 * * * *", "timeZone": "America/Chicago"}
    after = datetime(2026, 11, 1, 0, 45, tzinfo=CHICAGO)
    assert iso(schedule_next_runs(schedule, count=5, after=after)) == [
        "2026-11-01T01:00:00-05:00",
        "2026-11-01T01:30:00-05:00",
        "2026-11-01T01:00:00-06:00",
        "2026-11-01T01:30:00-06:00",
        "2026-11-01T02:00:00-06:00",
    ]


def test_clock_following_job_skips_the_missing_hour() -> None:
    schedule = {"cron": "*/30 * * * *", "timeZone": "America/Chicago"}
    after = datetime(2026, 3, 8, 1, 15, tzinfo=CHICAGO)
    assert iso(schedule_next_runs(schedule, count=3, after=after)) == [
        "2026-03-08T01:30:00-06:00",
        "2026-03-08T03:00:00-05:00",
        "2026-03-08T03:30:00-05:00",
    ]


def test_successive_calls_continue_without_repeats_across_fall_back() -> None:
    schedule = {"cron": "*/30 * * * *", "timeZone": "America/Chicago"}
    after = datetime(2026, 11, 1, 5, 0, tzinfo=UTC)  # 00:00 CDT
    one_by_one = []
    for _ in range(6):
        after = schedule_next_runs(schedule, count=1, after=after)[0]
        one_by_one.append(after)
    assert one_by_one == schedule_next_runs(
        schedule, count=6, after=datetime(2026, 11, 1, 5, tzinfo=UTC)
    )
    assert len({moment.astimezone(UTC) for moment in one_by_one}) == 6


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        (
            "America/Chicago",
            ["2026-06-01T09:00:00-05:00", "2026-06-02T09:00:00-05:00", "2026-06-03T09:00:00-05:00"],
        ),
        (
            "Europe/Berlin",
            ["2026-06-01T09:00:00+02:00", "2026-06-02T09:00:00+02:00", "2026-06-03T09:00:00+02:00"],
        ),
        (
            "Asia/Kolkata",
            ["2026-06-01T09:00:00+05:30", "2026-06-02T09:00:00+05:30", "2026-06-03T09:00:00+05:30"],
        ),
    ],
)
def test_cron_runs_in_its_own_zone(zone: str, expected: list[str]) -> None:
    schedule = {"cron": "0 9 * * 1-5", "timeZone": zone}
    # 2026-06-01 is a Monday; start at its UTC midnight, before 09:00 in all three zones.
    after = datetime(2026, 5, 31, 20, 0, tzinfo=UTC)
    assert iso(schedule_next_runs(schedule, count=3, after=after)) == expected


def test_weekday_cron_skips_the_weekend_in_berlin() -> None:
    schedule = {"cron": "0 9 * * 1-5", "timeZone": "Europe/Berlin"}
    after = datetime(2026, 3, 27, 12, 0, tzinfo=BERLIN)  # Friday noon, before the DST weekend
    assert iso(schedule_next_runs(schedule, count=2, after=after)) == [
        "2026-03-30T09:00:00+02:00",
        "2026-03-31T09:00:00+02:00",
    ]


def test_cron_without_zone_is_utc() -> None:
    runs = schedule_next_runs(
        {"cron": "0 0 * * *"}, count=1, after=datetime(2026, 1, 1, 12, tzinfo=KOLKATA)
    )
    assert iso(runs) == ["2026-01-02T00:00:00+00:00"]


def test_runs_are_strictly_after_the_given_time() -> None:
    after = datetime(2026, 6, 1, 9, 0, tzinfo=BERLIN)
    runs = schedule_next_runs(
        {"cron": "0 9 * * *", "timeZone": "Europe/Berlin"}, count=1, after=after
    )
    assert iso(runs) == ["2026-06-02T09:00:00+02:00"]


@pytest.mark.parametrize(
    ("schedule", "step"),
    [
        ({"every": 5, "unit": "minutes"}, timedelta(minutes=5)),
        ({"every": 2, "unit": "hours"}, timedelta(hours=2)),
        ({"every": 1, "unit": "days"}, timedelta(days=1)),
        ({"every": 3, "unit": "weeks"}, timedelta(weeks=3)),
    ],
)
def test_interval_counts_from_after_in_utc(schedule: dict, step: timedelta) -> None:
    after = datetime(2026, 3, 7, 20, 7, 30, tzinfo=CHICAGO)
    runs = schedule_next_runs(schedule, count=3, after=after)
    # Elapsed time, computed in UTC: the DST change on 2026-03-08 does not stretch a step.
    start = after.astimezone(UTC)
    assert runs == [start + step, start + 2 * step, start + 3 * step]
    assert all(run.utcoffset() == timedelta(0) for run in runs)


def test_interval_day_is_24_hours_across_dst() -> None:
    after = datetime(2026, 3, 7, 12, 0, tzinfo=CHICAGO)
    (run,) = schedule_next_runs({"every": 1, "unit": "days"}, count=1, after=after)
    assert run.astimezone(CHICAGO).isoformat() == "2026-03-08T13:00:00-05:00"


@time_machine.travel(datetime(2026, 7, 4, 12, 0, 10, tzinfo=UTC), tick=False)
def test_next_runs_default_to_now() -> None:
    assert iso(schedule_next_runs({"cron": "*/15 * * * *"}, count=2)) == [
        "2026-07-04T12:15:00+00:00",
        "2026-07-04T12:30:00+00:00",
    ]
    assert iso(schedule_next_runs({"every": 10, "unit": "minutes"}, count=1)) == [
        "2026-07-04T12:10:10+00:00"
    ]


def test_value_form_uses_its_cron_and_zone() -> None:
    value = {"scheduleType": "day", "value": "0 9 * * *", "timeZone": "Asia/Kolkata"}
    after = datetime(2026, 6, 1, 0, 10, tzinfo=UTC)  # 05:40 in Kolkata
    assert iso(schedule_next_runs(value, count=2, after=after)) == [
        "2026-06-01T09:00:00+05:30",
        "2026-06-02T09:00:00+05:30",
    ]


def test_value_form_none_never_fires() -> None:
    assert schedule_next_runs({"scheduleType": "none", "value": ""}, count=5) == []


def test_config_var_form_must_be_resolved_first() -> None:
    with pytest.raises(ValueError, match="schedule_resolve"):
        schedule_next_runs({"configVar": "Sync"})
    value = {"scheduleType": "minute", "value": "*/5 * * * *", "timeZone": "UTC"}
    assert schedule_resolve({"configVar": "Sync"}, config_values={"Sync": value}) == value
    assert schedule_resolve({"configVar": "Sync"}, config_values={}) is None
    assert schedule_resolve({"every": 1, "unit": "hours"}, config_values={}) == {
        "every": 1,
        "unit": "hours",
    }


def test_naive_after_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule_next_runs({"cron": "* * * * *"}, after=datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("schedule", "field"),
    [
        ({"cron": "* * * *"}, "cron"),
        ({"cron": "@hourly"}, "cron"),
        ({"cron": "0 0 30 2 *"}, "cron"),
        ({"cron": "0 25 * * *"}, "cron"),
        ({"cron": "* * * * *", "timeZone": "Nowhere/Land"}, "timeZone"),
        ({"cron": "* * * * *", "timeZone": "/etc/passwd"}, "timeZone"),
        ({"every": "5", "unit": "minutes"}, "every"),
        ({"every": True, "unit": "minutes"}, "every"),
        ({"every": 5, "unit": "months"}, "unit"),
        ({"every": 5, "unit": "minutes", "cron": "* * * * *", "timeZone": "UTC"}, "every"),
        ({"scheduleType": "weekly", "value": "0 0 * * 0"}, "scheduleType"),
        ({"scheduleType": "week", "value": ""}, "value"),
        ({"scheduleType": "custom", "value": "nope"}, "value"),
        ({"configVar": ""}, "configVar"),
        ({}, ""),
    ],
)
def test_validate_names_the_bad_field(schedule: dict, field: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        schedule_validate(schedule)
    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        ({"every": 5, "unit": "minutes"}, "Every 5 minutes"),
        ({"every": 1, "unit": "hours"}, "Every hour"),
        ({"every": 2, "unit": "weeks"}, "Every 2 weeks"),
        ({"cron": "* * * * *"}, "Every minute"),
        ({"cron": "*/15 * * * *", "timeZone": "UTC"}, "Every 15 minutes"),
        ({"cron": "7 * * * *"}, "Every hour at minute 7"),
        (
            {"cron": "30 2 * * *", "timeZone": "America/Chicago"},
            "Every day at 02:30 (America/Chicago)",
        ),
        (
            {"cron": "0 9 * * 1-5", "timeZone": "Europe/Berlin"},
            "Every weekday at 09:00 (Europe/Berlin)",
        ),
        ({"cron": "0 9 * * 1"}, "Every Monday at 09:00 (UTC)"),
        ({"cron": "0 9 1 * *"}, "On the cron schedule '0 9 1 * *' (UTC)"),
        ({"configVar": "Sync"}, "Set by config variable 'Sync'"),
        ({"scheduleType": "none"}, "Never"),
        ({"scheduleType": "minute", "value": "*/5 * * * *"}, "Every 5 minutes"),
    ],
)
def test_describe_in_plain_words(schedule: dict, words: str) -> None:
    assert schedule_describe(schedule) == words


def test_interval_longer_than_a_year_is_refused() -> None:
    schedule_validate({"every": 52, "unit": "weeks"})
    with pytest.raises(ScheduleError) as caught:
        schedule_validate({"every": 365, "unit": "days"})
    assert caught.value.field == "every"
