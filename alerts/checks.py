"""The periodic alert checks: overdue schedules, runs still running too long, failing
polls, throttled or rejected endpoints, and deliveries due for a retry (SPEC §9).

They run every ``TRIGGERFISH_ALERT_CHECK_SECONDS`` on a thread of every worker process,
not from beat: "beat is down" is one of the things they must notice. A lease row
(``AlertCheckLease``, taken with one conditional UPDATE) lets one process at a time run
them, however many worker hosts there are. Each check reads indexed columns only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Max
from django.utils import timezone

from alerts.delivery import deliveries_due
from alerts.events import threshold_value
from alerts.models import AlertMonitor, AlertState
from alerts.notices import alert_raise, alert_recover, deliveries_send, raised_for_execution
from alerts.scope import monitor_covers, monitors_watching
from executions.models import Execution, ExecutionStatus
from instances.models import Endpoint, Instance, PollState
from triggers.models import EndpointActivity
from triggers.schedules.index import schedule_latest_due
from triggers.schedules.periodic_tasks import flow_schedule_resolve, schedule_flows

logger = logging.getLogger(__name__)

# How far back the overdue check looks for a missed fire (and for the last success).
OVERDUE_LOOKBACK = timedelta(days=7)
# Complete minutes of endpoint activity each check reads.
ENDPOINT_MINUTES = 3


def alert_checks_run(*, now: datetime | None = None) -> dict[str, int]:
    """Run every check once; returns how many notifications (or retries) each made."""
    now = now or timezone.now()
    checks: dict[str, Callable[[datetime], int]] = {
        "deliveries": deliveries_retry,
        "schedule.overdue": overdue_check,
        "execution.duration_exceeded": running_check,
        "poll.failing": polls_check,
        "endpoint": endpoints_check,
    }
    counts = {}
    for name, check in checks.items():
        try:
            counts[name] = check(now)
        except Exception:  # one check failing must not stop the others
            logger.exception("Alert check %s failed", name)
            counts[name] = 0
    return counts


def deliveries_retry(now: datetime) -> int:
    due = deliveries_due(now=now)
    if due:
        deliveries_send(due)
    return len(due)


def overdue_check(now: datetime) -> int:
    """A schedule or polling flow with no succeeded run (or poll) within ``graceSeconds``
    after a fire was due: raised once per missed fire time, recovered when it is no
    longer so (or by the next succeeded run: alerts.detection)."""
    monitors = list(monitors_watching({"schedule.overdue"}))
    if not monitors:
        return 0
    instances = list(
        Instance.objects.filter(removed_at__isnull=True, enabled=True, deployed_at__isnull=False)
        .select_related("integration", "customer")
        .prefetch_related("integration__flows")
    )
    pairs = [
        (instance, flow, schedule)
        for instance in instances
        for flow in schedule_flows(instance.integration.flows.all())
        if (schedule := flow_schedule_resolve(instance=instance, flow=flow)) is not None
    ]
    if not pairs:
        return 0
    last_success = _last_successes([instance.pk for instance, _, _ in pairs], now)
    active = {
        (state.monitor_id, state.instance_id, state.flow_name)
        for state in AlertState.objects.filter(monitor__in=monitors, active=True)
    }
    made = 0
    for monitor in monitors:
        grace = timedelta(seconds=threshold_value(monitor.event, monitor.threshold, "graceSeconds"))
        for instance, flow, schedule in pairs:
            if not monitor_covers(
                monitor,
                integration_name=instance.integration.name,
                customer_id=instance.customer_id,
                instance_id=instance.pk,
                flow_name=flow.name,
            ):
                continue
            assert instance.deployed_at is not None
            after = max(
                instance.deployed_at,
                now - OVERDUE_LOOKBACK,
                last_success.get((instance.pk, flow.name)) or instance.deployed_at,
            )
            due = schedule_latest_due(schedule, after=after, now=now - grace)
            if due is not None:
                event = alert_raise(
                    monitor=monitor,
                    instance=instance,
                    flow_name=flow.name,
                    details={
                        "dueAt": due.astimezone(UTC).isoformat(),
                        "graceSeconds": int(grace.total_seconds()),
                        "lastSucceededAt": _iso(last_success.get((instance.pk, flow.name))),
                    },
                    mark=_mark(due),
                    now=now,
                )
            elif (monitor.pk, instance.pk, flow.name) in active:
                event = alert_recover(
                    monitor=monitor,
                    instance=instance,
                    flow_name=flow.name,
                    details={"lastSucceededAt": _iso(last_success.get((instance.pk, flow.name)))},
                    now=now,
                )
            else:
                event = None
            made += event is not None
    return made


def _last_successes(instance_ids: list, now: datetime) -> dict[tuple, datetime]:
    """(instance id, flow name) -> when its last succeeded run was created, or its last
    poll that did not fail (a poll that finds nothing new starts no run)."""
    since = now - OVERDUE_LOOKBACK
    found: dict[tuple, datetime] = {}
    for row in (
        Execution.objects.filter(
            instance_id__in=instance_ids, status=ExecutionStatus.SUCCEEDED, created_at__gte=since
        )
        .values("instance_id", "flow__name")
        .annotate(last=Max("created_at"))
    ):
        found[(row["instance_id"], row["flow__name"])] = row["last"]
    for instance_id, flow_name, polled_at in PollState.objects.filter(
        instance_id__in=instance_ids, consecutive_failures=0, last_polled_at__gte=since
    ).values_list("instance_id", "flow_name", "last_polled_at"):
        key = (instance_id, flow_name)
        if polled_at is not None:
            found[key] = max(found.get(key) or polled_at, polled_at)
    return found


def running_check(now: datetime) -> int:
    """A run still running after the monitor's ``seconds``: raised once per execution (the
    run's end does not raise it again)."""
    monitors = list(monitors_watching({"execution.duration_exceeded"}))
    if not monitors:
        return 0
    shortest = min(threshold_value(m.event, m.threshold, "seconds") for m in monitors)
    running = list(
        Execution.objects.filter(
            status=ExecutionStatus.RUNNING, started_at__lt=now - timedelta(seconds=shortest)
        ).select_related("instance__customer", "instance__integration", "integration", "flow")
    )
    made = 0
    for execution in running:
        assert execution.started_at is not None
        took = (now - execution.started_at).total_seconds()
        for monitor in monitors:
            seconds = threshold_value(monitor.event, monitor.threshold, "seconds")
            if took <= seconds or not monitor_covers(
                monitor,
                integration_name=execution.integration.name,
                customer_id=execution.customer_id,
                instance_id=execution.instance_id,
                flow_name=execution.flow.name,
            ):
                continue
            if raised_for_execution(monitor, execution.pk):
                continue
            event = alert_raise(
                monitor=monitor,
                instance=execution.instance,
                flow_name=execution.flow.name,
                execution=execution,
                details={"seconds": seconds, "runningForSeconds": round(took, 3)},
                now=now,
            )
            made += event is not None
    return made


def polls_check(now: datetime) -> int:
    """``count`` consecutive failed polls: raised once per streak, recovered when a poll
    succeeds again."""
    monitors = list(monitors_watching({"poll.failing"}))
    if not monitors:
        return 0
    smallest = min(threshold_value(m.event, m.threshold, "count") for m in monitors)
    failing = list(
        PollState.objects.filter(consecutive_failures__gte=smallest).select_related(
            "instance__customer", "instance__integration"
        )
    )
    made = 0
    for state in failing:
        instance = state.instance
        for monitor in monitors:
            count = threshold_value(monitor.event, monitor.threshold, "count")
            if state.consecutive_failures < count or not _instance_covered(
                monitor, instance, state.flow_name
            ):
                continue
            event = alert_raise(
                monitor=monitor,
                instance=instance,
                flow_name=state.flow_name,
                details={
                    "consecutiveFailures": state.consecutive_failures,
                    "backoffUntil": _iso(state.backoff_until),
                },
                mark="failing",
                now=now,
            )
            made += event is not None
    for alert_state in AlertState.objects.filter(monitor__in=monitors, active=True).select_related(
        "monitor", "instance__customer", "instance__integration"
    ):
        if alert_state.instance is None:
            continue
        recovered = PollState.objects.filter(
            instance=alert_state.instance,
            flow_name=alert_state.flow_name,
            consecutive_failures=0,
        ).exists()
        if recovered:
            made += (
                alert_recover(
                    monitor=alert_state.monitor,
                    instance=alert_state.instance,
                    flow_name=alert_state.flow_name,
                    now=now,
                )
                is not None
            )
    return made


def endpoints_check(now: datetime) -> int:
    """At least ``count`` 429 (throttled) or 401 (rejected) answers on one endpoint within
    one minute, read from the last complete minutes of endpoint activity."""
    monitors = list(monitors_watching({"endpoint.throttled", "endpoint.rejected"}))
    if not monitors:
        return 0
    last_minute = now.replace(second=0, microsecond=0) - timedelta(minutes=1)
    window = [last_minute - timedelta(minutes=n) for n in range(ENDPOINT_MINUTES)]
    rows: list[dict[str, Any]] = [
        dict(row)
        for row in EndpointActivity.objects.filter(minute__in=window).values(
            "endpoint_token", "minute", "status_401", "status_429"
        )
    ]
    by_token: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_token.setdefault(row["endpoint_token"], []).append(row)
    active = list(
        AlertState.objects.filter(monitor__in=monitors, active=True).values_list(
            "monitor_id", "subject"
        )
    )
    tokens = set(by_token) | {subject for _, subject in active}
    endpoints = {
        endpoint.token: endpoint
        for endpoint in Endpoint.objects.filter(token__in=tokens).select_related(
            "instance__customer", "instance__integration"
        )
    }
    made = 0
    for monitor in monitors:
        field = "status_429" if monitor.event == "endpoint.throttled" else "status_401"
        count = threshold_value(monitor.event, monitor.threshold, "count")
        for token, endpoint in endpoints.items():
            instance = endpoint.instance
            if not monitor_covers(
                monitor,
                integration_name=endpoint.integration_name,
                customer_id=instance.customer_id if instance else None,
                instance_id=instance.pk if instance else None,
                flow_name=endpoint.flow_name,
            ):
                continue
            over = sorted(
                (row for row in by_token.get(token, []) if row[field] >= count),
                key=lambda row: row["minute"],
            )
            subject = token
            if over:
                latest = over[-1]
                event = alert_raise(
                    monitor=monitor,
                    instance=instance,
                    flow_name=endpoint.flow_name,
                    subject=subject,
                    details={
                        "minute": latest["minute"].astimezone(UTC).isoformat(),
                        "answers": latest[field],
                        "status": 429 if field == "status_429" else 401,
                        "endpoint": "…" + token[-6:],
                    },
                    mark=_mark(latest["minute"]),
                    now=now,
                )
            elif (monitor.pk, subject) in active:
                event = alert_recover(
                    monitor=monitor,
                    instance=instance,
                    flow_name=endpoint.flow_name,
                    subject=subject,
                    details={"endpoint": "…" + token[-6:]},
                    now=now,
                )
            else:
                event = None
            made += event is not None
    return made


def _instance_covered(monitor: AlertMonitor, instance: Instance, flow_name: str) -> bool:
    return monitor_covers(
        monitor,
        integration_name=instance.integration.name,
        customer_id=instance.customer_id,
        instance_id=instance.pk,
        flow_name=flow_name,
    )


def _mark(moment: datetime) -> str:
    # Marks compare as text (alerts.notices): one zone, one precision.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None
