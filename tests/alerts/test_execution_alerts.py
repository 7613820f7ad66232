"""Alerts raised by finished runs, delivered to a real receiver that verifies each
notification with the standardwebhooks library (SPEC §9)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.checks import alert_checks_run
from alerts.detection import execution_check, execution_may_be_watched
from alerts.models import AlertDelivery, AlertState
from tests.alerts.conftest import deliver_all, events_of, monitor_make, run
from tests.fixtures.executions import flow_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def calling(http_peer):
    """An instance whose one flow calls the peer: it fails while the peer answers 500."""
    instance, flow = flow_make(
        steps=[
            (
                "Call",
                "http.request",
                {"url": http_peer.url("/work"), "method": "GET", "failOnErrorStatus": True},
            )
        ]
    )
    return instance, flow


def test_a_failure_burst_sends_one_notice_counts_the_rest_and_recovers(
    calling, http_peer, alert_receiver
):
    instance, flow = calling
    monitor = monitor_make("execution.failed", webhook=alert_receiver.url, cooldown_seconds=300)
    alert_receiver.secret = monitor.channels.get().secret
    http_peer.respond("/work", status=500)

    failed = [run(instance, flow) for _ in range(4)]
    for execution in failed:
        assert execution.status == "failed"
        execution_check(execution_id=execution.pk, retry_scheduled=False)
    deliver_all()

    notices = alert_receiver.wait_for(1)
    assert len(notices) == 1  # one notification for the burst
    first = notices[0]
    assert first.verified, first.error
    body = first.json()
    assert body["type"] == "execution.failed"
    assert body["suppressed"] == 0
    assert body["execution"]["id"] == str(failed[0].pk)
    assert body["execution"]["status"] == "failed"
    assert "answered 500" in body["execution"]["error"]
    assert body["instance"] == {"id": str(instance.pk), "name": instance.name}
    assert body["customer"]["externalId"] == instance.customer.external_id
    assert body["integration"]["name"] == instance.integration.name
    assert body["flow"] == {"name": flow.name}
    assert body["monitor"] == {"id": str(monitor.pk), "name": monitor.name}
    assert first.headers["webhook-id"] == body["id"]
    state = AlertState.objects.get(monitor=monitor)
    assert state.suppressed == 3 and state.active

    http_peer.respond("/work", status=200)
    recovered = run(instance, flow)
    assert recovered.status == "succeeded"
    execution_check(execution_id=recovered.pk, retry_scheduled=False)
    deliver_all()
    notices = alert_receiver.wait_for(2)
    assert notices[1].verified
    recovery = notices[1].json()
    assert recovery["type"] == "execution.failed.recovered"
    assert recovery["suppressed"] == 3  # what the cooldown held back since the notice
    assert recovery["execution"]["status"] == "succeeded"

    # A second success owes no second recovery notice.
    again = run(instance, flow)
    execution_check(execution_id=again.pk, retry_scheduled=False)
    assert [e.type for e in events_of(monitor)] == [
        "execution.failed",
        "execution.failed.recovered",
    ]


def test_after_the_cooldown_the_next_notice_carries_the_held_back_count(calling, http_peer):
    instance, flow = calling
    monitor = monitor_make("execution.failed", cooldown_seconds=60)
    http_peer.respond("/work", status=500)
    start = timezone.now()
    for _ in range(3):
        execution_check(execution_id=run(instance, flow).pk, retry_scheduled=False)
    later = run(instance, flow)
    state = AlertState.objects.get(monitor=monitor)
    state.last_notified_at = start - timedelta(seconds=61)  # the cooldown has passed
    state.save()
    execution_check(execution_id=later.pk, retry_scheduled=False)
    events = events_of(monitor)
    assert [e.suppressed for e in events] == [0, 2]
    assert events[1].payload["suppressed"] == 2


def test_a_monitor_on_one_instance_is_silent_for_another(http_peer):
    steps = [
        (
            "Call",
            "http.request",
            {"url": http_peer.url("/work"), "method": "GET", "failOnErrorStatus": True},
        )
    ]
    watched, flow_a = flow_make(steps=steps)
    other, flow_b = flow_make(steps=steps)
    monitor = monitor_make("execution.failed", instance=watched)
    http_peer.respond("/work", status=500)
    failed_other = run(other, flow_b)
    assert not execution_may_be_watched(
        status="failed",
        customer_id=other.customer_id,
        instance_id=other.pk,
        flow_name=flow_b.name,
    )
    assert execution_check(execution_id=failed_other.pk, retry_scheduled=False) == []
    failed_watched = run(watched, flow_a)
    assert execution_may_be_watched(
        status="failed",
        customer_id=watched.customer_id,
        instance_id=watched.pk,
        flow_name=flow_a.name,
    )
    [event] = execution_check(execution_id=failed_watched.pk, retry_scheduled=False)
    assert event.instance_id == watched.pk
    assert monitor.events.count() == 1


def test_a_flow_scope_and_a_disabled_monitor(calling, http_peer):
    instance, flow = calling
    other_flow = monitor_make("execution.failed", flow_name="Some other flow")
    disabled = monitor_make("execution.failed", enabled=False)
    http_peer.respond("/work", status=500)
    execution_check(execution_id=run(instance, flow).pk, retry_scheduled=False)
    assert other_flow.events.count() == 0
    assert disabled.events.count() == 0


def test_retry_pending_then_failed_with_no_retry_left(http_peer):
    instance, flow = flow_make(
        steps=[
            (
                "Call",
                "http.request",
                {"url": http_peer.url("/work"), "method": "GET", "failOnErrorStatus": True},
            )
        ]
    )
    pending = monitor_make("execution.retry_pending", cooldown_seconds=0)
    failed = monitor_make("execution.failed", cooldown_seconds=0)
    http_peer.respond("/work", status=500)
    first = run(instance, flow)
    execution_check(execution_id=first.pk, retry_scheduled=True)
    execution_check(execution_id=first.pk, retry_scheduled=False)
    assert [e.type for e in events_of(pending)] == ["execution.retry_pending"]
    assert [e.type for e in events_of(failed)] == ["execution.failed"]
    assert events_of(pending)[0].payload["details"] == {"attempt": 1}


def test_a_run_that_took_too_long_and_one_still_running(http_peer):
    instance, flow = flow_make(steps=[("Nap", "flow.sleep", {"seconds": 0.3})])
    monitor = monitor_make(
        "execution.duration_exceeded", threshold={"seconds": 1}, cooldown_seconds=0
    )
    quick = run(instance, flow)
    execution_check(execution_id=quick.pk, retry_scheduled=False)
    assert monitor.events.count() == 0  # 0.3 s is within 1 s

    monitor.enabled = False
    monitor.save()
    slow_monitor = monitor_make(
        "execution.duration_exceeded", threshold={"seconds": 60}, cooldown_seconds=0
    )
    still = run(instance, flow)
    # As if it were still running, started two minutes ago: the periodic check sees it.
    still.status = "running"
    still.ended_at = None
    still.started_at = timezone.now() - timedelta(minutes=2)
    still.save()
    alert_checks_run()
    [event] = events_of(slow_monitor)
    assert event.type == "execution.duration_exceeded"
    assert event.execution_id == still.pk
    assert event.payload["details"]["runningForSeconds"] >= 120
    alert_checks_run()  # raised once per run
    assert slow_monitor.events.count() == 1
    # ... and its end does not raise it again.
    still.status = "succeeded"
    still.ended_at = timezone.now()
    still.save()
    execution_check(execution_id=still.pk, retry_scheduled=False)
    assert slow_monitor.events.count() == 1
    # The next run within the time sends the recovery.
    execution_check(execution_id=run(instance, flow).pk, retry_scheduled=False)
    assert [e.type for e in events_of(slow_monitor)] == [
        "execution.duration_exceeded",
        "execution.duration_exceeded.recovered",
    ]


def test_a_log_line_at_the_level(http_peer):
    instance, flow = flow_make(
        steps=[
            ("Note", "log.write", {"level": "info", "message": "all fine"}),
            ("Worry", "log.write", {"level": "warning", "message": "disk at 91 %"}),
        ]
    )
    errors = monitor_make("log.level", threshold={"level": "error"}, cooldown_seconds=0)
    warnings = monitor_make("log.level", threshold={"level": "warn"}, cooldown_seconds=0)
    execution = run(instance, flow)
    assert execution.status == "succeeded"
    execution_check(execution_id=execution.pk, retry_scheduled=False)
    assert errors.events.count() == 0
    [event] = events_of(warnings)
    assert event.payload["details"]["message"] == "disk at 91 %"
    assert event.payload["details"]["step"] == "Worry"


def test_a_receiver_answering_500_is_retried_with_the_same_body_and_id(
    calling, http_peer, alert_receiver
):
    instance, flow = calling
    monitor = monitor_make("execution.failed", webhook=alert_receiver.url)
    alert_receiver.secret = monitor.channels.get().secret
    alert_receiver.status = 500
    http_peer.respond("/work", status=500)
    execution_check(execution_id=run(instance, flow).pk, retry_scheduled=False)
    [delivery] = deliver_all()
    assert delivery.status == "pending"
    assert delivery.attempts[0]["status"] == 500
    first_retry = delivery.next_attempt_at - timezone.now()
    assert timedelta(seconds=0) < first_retry <= timedelta(minutes=1)
    assert deliver_all() == []  # not due yet

    alert_receiver.status = 200
    AlertDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    counts = alert_checks_run()  # the periodic check hands due retries to the workers
    assert counts["deliveries"] == 1
    [delivered] = deliver_all()
    assert delivered.status == "delivered"
    assert [a["status"] for a in delivered.attempts] == [500, 200]
    first, second = alert_receiver.wait_for(2)
    assert first.body == second.body
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.verified and second.verified


def test_retries_give_up_24_hours_after_the_event(calling, http_peer, alert_receiver):
    instance, flow = calling
    monitor_make("execution.failed", webhook=alert_receiver.url)
    alert_receiver.status = 503
    http_peer.respond("/work", status=500)
    [event] = execution_check(execution_id=run(instance, flow).pk, retry_scheduled=False)
    event.occurred_at = timezone.now() - timedelta(hours=23, minutes=59, seconds=50)
    event.save()
    [delivery] = deliver_all()
    assert delivery.status == "failed"
    assert delivery.next_attempt_at is None
    assert len(delivery.attempts) == 1


def test_an_unreachable_receiver_is_recorded(calling, http_peer):
    instance, flow = calling
    monitor_make("execution.failed", webhook="http://127.0.0.1:9/nothing-listens")
    http_peer.respond("/work", status=500)
    execution_check(execution_id=run(instance, flow).pk, retry_scheduled=False)
    [delivery] = deliver_all()
    assert delivery.attempts[0]["status"] is None
    assert delivery.attempts[0]["error"].startswith("No answer: ConnectError")
    assert delivery.status == "pending"


def test_email_through_a_real_smtp_server(calling, http_peer, smtp_server):
    instance, flow = calling
    monitor_make("execution.failed", email=["ops@example.com", "lead@example.com"])
    http_peer.respond("/work", status=500)
    execution_check(execution_id=run(instance, flow).pk, retry_scheduled=False)
    [delivery] = deliver_all()
    assert delivery.status == "delivered", delivery.attempts
    [message] = smtp_server.wait_for(1)
    # (The parser keeps the folding space before the encoded word of the em dash.)
    assert message["Subject"].strip() == (
        f"[Triggerfish] execution.failed — {instance.integration.name} / "
        f"{instance.customer.name} / {flow.name}"
    )
    assert sorted(smtp_server.messages[0][0]) == ["lead@example.com", "ops@example.com"]
    assert "answered 500" in message.get_content()


def test_a_success_publishes_a_check_only_when_a_recovery_is_owed(calling, http_peer):
    instance, flow = calling
    monitor_make("execution.failed")
    ends = {"customer_id": instance.customer_id, "instance_id": instance.pk, "flow_name": flow.name}
    assert execution_may_be_watched(status="failed", **ends)
    assert not execution_may_be_watched(status="succeeded", **ends)  # nothing owed
    http_peer.respond("/work", status=500)
    execution_check(execution_id=run(instance, flow).pk, retry_scheduled=False)
    assert execution_may_be_watched(status="succeeded", **ends)
    # The runner's fast path does not know the instance: any instance's flow of that name.
    assert execution_may_be_watched(
        status="succeeded", customer_id=None, instance_id=None, flow_name=flow.name
    )
    assert not execution_may_be_watched(
        status="succeeded", customer_id=None, instance_id=None, flow_name="Other"
    )
