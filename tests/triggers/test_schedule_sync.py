"""Instance schedule flows as django-celery-beat rows: one PeriodicTask per instance flow,
each with its own schedule row, following deploy, config changes, pause, enable, redeploy
and remove."""

from __future__ import annotations

import json

import pytest
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from instances.lifecycle import (
    instance_config_update,
    instance_deploy,
    instance_enable,
    instance_pause,
    instance_remove,
)
from tests.fixtures.schedules import schedule_definition
from triggers.schedules.periodic_tasks import (
    FIRE_TASK,
    instance_periodic_tasks,
    instance_schedules_sync,
    task_name,
)

pytestmark = pytest.mark.django_db


def tasks_of(instance) -> dict[str, PeriodicTask]:
    return instance_periodic_tasks(instance.pk)


def test_deploy_creates_one_task_per_schedule_flow_with_its_own_schedule_row(
    make_integration, make_instance
):
    instance = make_instance(make_integration(schedule_definition()))
    tasks = tasks_of(instance)
    assert set(tasks) == {"Hourly Cron", "Every Ten", "Configured"}

    cron = tasks["Hourly Cron"]
    assert cron.task == FIRE_TASK
    assert cron.enabled
    assert json.loads(cron.kwargs) == {"instance_id": str(instance.pk), "flow_name": "Hourly Cron"}
    assert cron.name == f"Triggerfish: Acme / Main / Hourly Cron [{instance.pk}]"
    assert (cron.crontab.minute, cron.crontab.hour, cron.crontab.day_of_week) == ("30", "2", "*")
    assert str(cron.crontab.timezone) == "America/Chicago"
    assert cron.interval is None
    assert "Every day at 02:30 (America/Chicago)" in cron.description

    interval = tasks["Every Ten"].interval
    assert (interval.every, interval.period) == (10, IntervalSchedule.MINUTES)

    configured = tasks["Configured"].crontab
    assert (configured.minute, str(configured.timezone)) == ("*/5", "UTC")

    crontabs = [t.crontab_id for t in tasks.values() if t.crontab_id]
    assert len(crontabs) == len(set(crontabs)) == 2


def test_schedule_rows_are_never_shared_between_instances(make_integration, make_instance):
    integration = make_integration(schedule_definition())
    first = make_instance(integration, name="One")
    second = make_instance(integration, name="Two")
    a, b = tasks_of(first)["Hourly Cron"], tasks_of(second)["Hourly Cron"]
    assert a.crontab_id != b.crontab_id
    assert CrontabSchedule.objects.count() == 4
    assert IntervalSchedule.objects.filter(every=10).count() == 2


def test_weeks_are_stored_as_days(make_integration, make_instance):
    spec = schedule_definition()
    spec["flows"][1]["trigger"]["schedule"] = {"every": 2, "unit": "weeks"}
    instance = make_instance(make_integration(spec))
    interval = tasks_of(instance)["Every Ten"].interval
    assert (interval.every, interval.period) == (14, IntervalSchedule.DAYS)


def test_undeployed_instance_has_no_tasks(make_integration, make_instance):
    instance = make_instance(make_integration(schedule_definition()), deploy=False)
    assert tasks_of(instance) == {}
    assert instance_schedules_sync(instance=instance) == []


def test_config_change_updates_the_task_in_place(make_integration, make_instance):
    instance = make_instance(make_integration(schedule_definition()))
    before = tasks_of(instance)["Configured"]
    PeriodicTask.objects.filter(pk=before.pk).update(last_run_at="2026-01-01T00:00:00Z")

    instance_config_update(
        instance=instance,
        config_values={
            "Sync Schedule": {
                "scheduleType": "day",
                "value": "15 9 * * *",
                "timeZone": "Europe/Berlin",
            }
        },
    )
    after = tasks_of(instance)["Configured"]
    assert after.pk == before.pk
    assert after.crontab_id == before.crontab_id  # its own row, changed in place
    assert (after.crontab.minute, after.crontab.hour) == ("15", "9")
    assert str(after.crontab.timezone) == "Europe/Berlin"
    # The new schedule counts from now, not from a run under the old one.
    assert after.last_run_at is None


def test_config_value_none_removes_the_task_and_its_row(make_integration, make_instance):
    instance = make_instance(make_integration(schedule_definition()))
    task = tasks_of(instance)["Configured"]
    instance_config_update(
        instance=instance, config_values={"Sync Schedule": {"scheduleType": "none"}}
    )
    assert "Configured" not in tasks_of(instance)
    assert not CrontabSchedule.objects.filter(pk=task.crontab_id).exists()
    instance_config_update(
        instance=instance,
        config_values={"Sync Schedule": {"scheduleType": "hour", "value": "0 * * * *"}},
    )
    assert tasks_of(instance)["Configured"].crontab.minute == "0"


def test_unchanged_sync_writes_nothing(make_integration, make_instance):
    instance = make_instance(make_integration(schedule_definition()))
    before = {name: task.date_changed for name, task in tasks_of(instance).items()}
    instance_schedules_sync(instance=instance)
    after = {name: task.date_changed for name, task in tasks_of(instance).items()}
    assert before == after


def test_pause_disables_and_enable_re_enables(make_integration, make_instance):
    instance = make_instance(make_integration(schedule_definition()))
    instance_pause(instance=instance)
    assert {t.enabled for t in tasks_of(instance).values()} == {False}
    instance_enable(instance=instance)
    assert {t.enabled for t in tasks_of(instance).values()} == {True}


def test_remove_deletes_tasks_and_their_schedule_rows(make_integration, make_instance):
    instance = make_instance(make_integration(schedule_definition()))
    tasks = tasks_of(instance)
    crontabs = [t.crontab_id for t in tasks.values() if t.crontab_id]
    intervals = [t.interval_id for t in tasks.values() if t.interval_id]
    instance_remove(instance=instance)
    assert tasks_of(instance) == {}
    assert not CrontabSchedule.objects.filter(pk__in=crontabs).exists()
    assert not IntervalSchedule.objects.filter(pk__in=intervals).exists()


def test_redeploy_onto_a_new_version_updates_and_drops_tasks(make_integration, make_instance):
    instance = make_instance(make_integration(schedule_definition()))
    old = tasks_of(instance)
    spec = schedule_definition()
    # v2: the cron flow becomes an interval, "Every Ten" is gone, the rest stays.
    spec["flows"][0]["trigger"]["schedule"] = {"every": 3, "unit": "hours"}
    del spec["flows"][1]
    make_integration(spec)
    instance_deploy(instance=instance)

    new = tasks_of(instance)
    assert set(new) == {"Hourly Cron", "Configured"}
    assert new["Hourly Cron"].pk == old["Hourly Cron"].pk
    assert new["Hourly Cron"].crontab is None
    assert (new["Hourly Cron"].interval.every, new["Hourly Cron"].interval.period) == (3, "hours")
    # The old crontab row went with the change; the dropped flow's row with its task.
    assert not CrontabSchedule.objects.filter(pk=old["Hourly Cron"].crontab_id).exists()
    assert not IntervalSchedule.objects.filter(pk=old["Every Ten"].interval_id).exists()
    assert "v2" in new["Configured"].description


def test_long_names_stay_unique_and_within_the_limit(make_integration, make_instance):
    names = [
        task_name(
            customer_name="C" * 150,
            instance_name="I" * 150,
            flow_name="F" * 150 + suffix,
            instance_id="0f8fad5b-d9cb-469f-a165-70867728950e",
        )
        for suffix in ("a", "b")
    ]
    assert len(set(names)) == 2
    assert all(len(name) <= 200 for name in names)
    assert all(name.endswith("[0f8fad5b-d9cb-469f-a165-70867728950e]") for name in names)


def test_paused_instance_config_change_keeps_its_tasks_disabled(make_integration, make_instance):
    instance = make_instance(make_integration(schedule_definition()))
    instance_pause(instance=instance)
    instance_config_update(
        instance=instance,
        config_values={"Sync Schedule": {"scheduleType": "hour", "value": "0 * * * *"}},
    )
    assert {t.enabled for t in tasks_of(instance).values()} == {False}
