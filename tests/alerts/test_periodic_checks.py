"""The periodic alert checks: overdue schedules, failing polls, throttled and rejected
endpoints, and the lease that lets one process run them (SPEC §9)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerts.checker import lease_take
from alerts.checks import alert_checks_run
from alerts.models import AlertState
from executions.models import Execution, ExecutionStatus
from instances.models import Endpoint, PollState
from tests.alerts.conftest import events_of, monitor_make
from tests.fixtures.polling import FLOW, Poller, closed_port_url, orders_definition
from tests.fixtures.schedules import one_flow_definition
from triggers.models import EndpointActivity

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 7, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def ticker(make_integration, make_instance):
    """An instance whose flow "Tick" fires every minute, deployed an hour before noon."""
    instance = make_instance(make_integration(one_flow_definition({"cron": "* * * * *"})))
    instance.deployed_at = NOON - timedelta(hours=1)
    instance.save(update_fields=["deployed_at"])
    return instance


def succeeded_at(instance, moment):
    execution = Execution.objects.create(
        instance=instance,
        customer=instance.customer,
        integration=instance.integration,
        flow=instance.integration.flows.get(name="Tick"),
        status=ExecutionStatus.SUCCEEDED,
        trigger_kind="schedule",
        trigger_payload={},
    )
    Execution.objects.filter(pk=execution.pk).update(created_at=moment)
    return execution


def test_overdue_after_the_grace_once_per_missed_fire_and_recovered(ticker):
    monitor = monitor_make("schedule.overdue", threshold={"graceSeconds": 120}, cooldown_seconds=0)
    succeeded_at(ticker, NOON - timedelta(seconds=59))  # the 11:59 fire ran
    # 12:01:30: the 12:00 fire is due, but the grace (2 min) has not passed.
    alert_checks_run(now=NOON + timedelta(seconds=90))
    assert monitor.events.count() == 0
    # 12:02:30: the 12:00 fire had no succeeded run within 2 minutes.
    alert_checks_run(now=NOON + timedelta(seconds=150))
    [event] = events_of(monitor)
    assert event.type == "schedule.overdue"
    assert event.payload["details"]["dueAt"] == "2026-07-04T12:00:00+00:00"
    assert event.payload["flow"] == {"name": "Tick"}
    alert_checks_run(now=NOON + timedelta(seconds=155))  # the same missed fire: not again
    assert monitor.events.count() == 1
    # A run at last: the next check finds the flow on time and sends the recovery.
    succeeded_at(ticker, NOON + timedelta(seconds=160))
    alert_checks_run(now=NOON + timedelta(seconds=170))
    assert [e.type for e in events_of(monitor)] == [
        "schedule.overdue",
        "schedule.overdue.recovered",
    ]


def test_a_paused_instance_is_never_overdue(ticker):
    monitor = monitor_make("schedule.overdue", threshold={"graceSeconds": 60})
    ticker.enabled = False
    ticker.save(update_fields=["enabled"])
    alert_checks_run(now=NOON + timedelta(minutes=30))
    assert monitor.events.count() == 0


def test_overdue_scope_names_another_customer(ticker, customer_b):
    monitor = monitor_make("schedule.overdue", customer=customer_b)
    alert_checks_run(now=NOON + timedelta(minutes=30))
    assert monitor.events.count() == 0


def test_failing_polls_raise_once_per_streak_and_recover(ticker):
    monitor = monitor_make("poll.failing", threshold={"count": 3}, cooldown_seconds=0)
    state = PollState.objects.create(instance=ticker, flow_name="Tick", consecutive_failures=2)
    alert_checks_run()
    assert monitor.events.count() == 0
    state.consecutive_failures = 3
    state.save()
    alert_checks_run()
    state.consecutive_failures = 4
    state.save()
    alert_checks_run()
    [event] = events_of(monitor)
    assert event.payload["details"]["consecutiveFailures"] == 3
    state.consecutive_failures = 0
    state.save()
    alert_checks_run()
    assert [e.type for e in events_of(monitor)] == ["poll.failing", "poll.failing.recovered"]
    state.consecutive_failures = 5  # a new streak raises again
    state.save()
    alert_checks_run()
    assert monitor.events.count() == 3


def test_throttled_and_rejected_endpoints(ticker):
    token = "tok" + "x" * 40
    Endpoint.objects.create(
        token=token,
        endpoint_type="flow_specific",
        integration_name=ticker.integration.name,
        instance=ticker,
        flow_name="Tick",
    )
    throttled = monitor_make("endpoint.throttled", threshold={"count": 5}, cooldown_seconds=0)
    rejected = monitor_make("endpoint.rejected", threshold={"count": 2}, cooldown_seconds=0)
    minute = NOON - timedelta(minutes=1)
    EndpointActivity.objects.create(
        endpoint_token=token, minute=minute, requests=9, status_4xx=7, status_429=4, status_401=3
    )
    alert_checks_run(now=NOON + timedelta(seconds=5))
    assert throttled.events.count() == 0  # 4 < 5
    [event] = events_of(rejected)
    assert event.payload["details"]["answers"] == 3
    assert event.payload["details"]["status"] == 401
    assert token not in str(event.payload)  # only the token's tail is shown
    alert_checks_run(now=NOON + timedelta(seconds=35))  # the same minute: not again
    assert rejected.events.count() == 1
    EndpointActivity.objects.filter(endpoint_token=token).update(status_429=6)
    alert_checks_run(now=NOON + timedelta(seconds=40))
    assert throttled.events.count() == 1
    # Three quiet minutes later the endpoint has recovered.
    alert_checks_run(now=NOON + timedelta(minutes=4))
    assert [e.type for e in events_of(rejected)] == [
        "endpoint.rejected",
        "endpoint.rejected.recovered",
    ]
    assert AlertState.objects.filter(monitor=rejected, active=True).count() == 0


def test_one_process_at_a_time_holds_the_lease():
    assert lease_take(now=NOON, holder="a", seconds=27)
    assert not lease_take(now=NOON + timedelta(seconds=10), holder="b", seconds=27)
    assert lease_take(now=NOON + timedelta(seconds=28), holder="b", seconds=27)


def test_a_source_that_fails_three_polls_in_a_row_raises_poll_failing(
    make_integration, make_instance
):
    poller = Poller(make_instance(make_integration(orders_definition(closed_port_url()))))
    monitor = monitor_make("poll.failing", threshold={"count": 3}, cooldown_seconds=0)
    for fired in range(1, 4):
        poller.fire()
        alert_checks_run()
        assert monitor.events.count() == (1 if fired == 3 else 0)
    [event] = events_of(monitor)
    assert event.flow_name == FLOW
    assert event.payload["details"]["consecutiveFailures"] == 3
    assert event.payload["instance"]["id"] == str(poller.instance.pk)
