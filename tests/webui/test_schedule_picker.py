"""The schedule picker: the cron each choice writes, and reading stored values back."""

from __future__ import annotations

import pytest

from webui.schedule_picker import (
    Picker,
    PickerError,
    picker_cron,
    picker_from_value,
    picker_schedule_value,
)


@pytest.mark.parametrize(
    ("picker", "cron"),
    [
        (Picker(type="minute", every="1"), "* * * * *"),
        (Picker(type="minute", every="15"), "*/15 * * * *"),
        (Picker(type="hour", every="1", minute="5"), "5 * * * *"),
        (Picker(type="hour", every="6", minute="0"), "0 */6 * * *"),
        (Picker(type="day", every="1", time="08:30"), "30 8 * * *"),
        (Picker(type="day", every="2", time="23:05"), "5 23 */2 * *"),
        (Picker(type="week", weekday="5", time="17:00"), "0 17 * * 5"),
        (Picker(type="custom", cron="  30  8 * * 1-5 "), "30 8 * * 1-5"),
        (Picker(type="none"), ""),
    ],
)
def test_each_choice_writes_its_cron_and_reads_back_the_same(picker, cron):
    assert picker_cron(picker) == cron
    value = picker_schedule_value(picker)
    assert value["value"] == cron
    again = picker_from_value(value)
    assert again.type == picker.type
    assert picker_cron(again) == cron


def test_a_cron_the_picker_does_not_write_reads_back_as_custom():
    picker = picker_from_value(
        {"scheduleType": "minute", "value": "*/5 8-17 * * 1-5", "timeZone": "America/Chicago"}
    )
    assert (picker.type, picker.cron, picker.zone) == (
        "custom",
        "*/5 8-17 * * 1-5",
        "America/Chicago",
    )


@pytest.mark.parametrize(
    ("picker", "field"),
    [
        (Picker(type="minute", every="0"), "every"),
        (Picker(type="minute", every="x"), "every"),
        (Picker(type="hour", every="2", minute="60"), "minute"),
        (Picker(type="day", every="1", time="7pm"), "time"),
        (Picker(type="week", weekday="9", time="07:00"), "weekday"),
        (Picker(type="custom", cron="0 0 31 2 *"), "cron"),
        (Picker(type="minute", every="5", zone="Europe/Atlantis"), "zone"),
        (Picker(type="hourly"), "type"),
    ],
)
def test_bad_choices_name_their_field(picker, field):
    with pytest.raises(PickerError) as raised:
        picker_schedule_value(picker)
    assert list(raised.value.fields) == [field]
