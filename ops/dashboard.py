"""What the admin's home page shows: the last day's executions by status, the instance flows
that failed, the queue, overdue schedules and endpoints answering 429 or another 4xx.

Each figure is one query (the endpoint list two: its activity, then the few endpoints it
names), whatever the number of executions, instances or endpoints; lists are cut to
``LIST_LIMIT`` rows. The reads cross executions, triggers and django-celery-beat, so they
live here, at the top layer, rather than in any one app's selectors.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Min, Q, Sum
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from executions.models import Execution, ExecutionStatus
from instances.models import Endpoint
from triggers.models import EndpointActivity
from triggers.schedules.index import ROW_FIELDS, FireIndex
from triggers.schedules.periodic_tasks import FIRE_TASK

#: How far back the execution figures look.
EXECUTION_WINDOW = timedelta(hours=24)
#: How far back the endpoint figures look.
ENDPOINT_WINDOW = timedelta(hours=1)
#: A schedule is overdue when its next fire is further than this in the past. Beat writes
#: ``last_run_at`` back a few seconds after a burst of fires, so a fire just sent is not
#: yet on its row; five minutes is well past that, and short enough to notice beat down.
OVERDUE_GRACE = timedelta(minutes=5)
#: Rows shown in each list (the totals count every row).
LIST_LIMIT = 10


@dataclass(frozen=True)
class StatusCount:
    status: str
    label: str
    count: int
    percent: int  # of the largest bar, for the chart's width


@dataclass(frozen=True)
class FailingFlow:
    instance_id: uuid.UUID
    instance_name: str
    customer_name: str
    flow_id: uuid.UUID
    flow_name: str
    failed: int


@dataclass(frozen=True)
class QueueDepth:
    queued: int
    oldest_created_at: datetime | None

    @property
    def oldest_age(self) -> timedelta | None:
        if self.oldest_created_at is None:
            return None
        return timezone.now() - self.oldest_created_at


@dataclass(frozen=True)
class OverdueSchedule:
    periodic_task_id: int
    name: str
    due: datetime
    late_by: timedelta


@dataclass(frozen=True)
class RefusingEndpoint:
    endpoint: Endpoint | None  # None when the token's endpoint has been deleted since
    token: str
    requests: int
    status_429: int
    other_4xx: int


@dataclass(frozen=True)
class Dashboard:
    now: datetime
    executions_since: datetime
    endpoints_since: datetime
    by_status: list[StatusCount]
    failing_flows: list[FailingFlow]
    queue: QueueDepth
    overdue_schedules: list[OverdueSchedule]
    overdue_total: int
    refusing_endpoints: list[RefusingEndpoint] = field(default_factory=list)

    @property
    def executions_total(self) -> int:
        return sum(item.count for item in self.by_status)


def executions_by_status(*, since: datetime) -> list[StatusCount]:
    """Executions created since ``since`` by status, every status listed (zeros too), in
    the order of ``ExecutionStatus``. One query on the ``created_at`` index."""
    counts = dict(
        Execution.objects.filter(created_at__gte=since)
        .order_by()
        .values_list("status")
        .annotate(count=Count("id"))
    )
    largest = max(counts.values(), default=0)
    return [
        StatusCount(
            status=status.value,
            label=status.label,
            count=counts.get(status.value, 0),
            percent=round(100 * counts.get(status.value, 0) / largest) if largest else 0,
        )
        for status in ExecutionStatus
    ]


def failing_flows(*, since: datetime, limit: int = LIST_LIMIT) -> list[FailingFlow]:
    """Instance flows with failed executions since ``since``, most failures first. One
    query on the ``(status, created_at)`` index, names joined in."""
    rows = (
        Execution.objects.filter(status=ExecutionStatus.FAILED, created_at__gte=since)
        .order_by()
        .values(
            "instance_id", "instance__name", "instance__customer__name", "flow_id", "flow__name"
        )
        .annotate(failed=Count("id"))
        .order_by("-failed", "instance__name", "flow__name")[:limit]
    )
    return [
        FailingFlow(
            instance_id=row["instance_id"],
            instance_name=row["instance__name"],
            customer_name=row["instance__customer__name"],
            flow_id=row["flow_id"],
            flow_name=row["flow__name"],
            failed=row["failed"],
        )
        for row in rows
    ]


def queue_depth() -> QueueDepth:
    """Queued executions and when the oldest was created (a retry waiting for its delay is
    queued too, counted from its own row). One query on the ``(status, created_at)`` index."""
    figures = Execution.objects.filter(status=ExecutionStatus.QUEUED).aggregate(
        queued=Count("id"), oldest=Min("created_at")
    )
    return QueueDepth(queued=figures["queued"], oldest_created_at=figures["oldest"])


def overdue_schedules(
    *, now: datetime, grace: timedelta = OVERDUE_GRACE, limit: int = LIST_LIMIT
) -> tuple[list[OverdueSchedule], int]:
    """Enabled instance schedules (``triggers.fire_schedule`` tasks; a paused or removed
    instance has none enabled) whose next fire is more than ``grace`` before ``now``, most
    late first, and how many there are.

    The next fire is computed as beat's scheduler computes it (triggers.schedules.index):
    after ``last_run_at``, or after ``date_changed`` for a task that never ran. A task run
    within the grace period cannot be overdue, so only older ones are read: one query."""
    cutoff = now - grace
    rows = (
        PeriodicTask.objects.filter(enabled=True, task=FIRE_TASK)
        .filter(Q(last_run_at__lt=cutoff) | Q(last_run_at__isnull=True, date_changed__lt=cutoff))
        .values(*ROW_FIELDS)
    )
    index = FireIndex()
    overdue: list[OverdueSchedule] = []
    for row in rows:
        entry = index.entry_from_row(row)
        if entry is None:  # a row beat runs with django-celery-beat's own logic
            continue
        index.place(
            entry,
            last_run_at=row["last_run_at"],
            date_changed=row["date_changed"],
            pending_last_run=None,
            now=now,
        )
        if entry.due is not None and entry.due < cutoff:
            overdue.append(
                OverdueSchedule(
                    periodic_task_id=row["pk"],
                    name=row["name"],
                    due=entry.due,
                    late_by=now - entry.due,
                )
            )
    overdue.sort(key=lambda item: item.due)
    return overdue[:limit], len(overdue)


def refusing_endpoints(*, since: datetime, limit: int = LIST_LIMIT) -> list[RefusingEndpoint]:
    """Endpoints that answered 429 or another 4xx (401 for a bad signature or key among
    them) since ``since``, most refusals first: one query for the activity, one for the
    endpoints it names. The activity's ``status_4xx`` counts every 4xx, 429 included."""
    rows = list(
        EndpointActivity.objects.filter(minute__gte=since)
        .filter(status_4xx__gt=0)
        .order_by()
        .values("endpoint_token")
        .annotate(requests=Sum("requests"), status_429=Sum("status_429"), all_4xx=Sum("status_4xx"))
        .order_by("-all_4xx", "endpoint_token")[:limit]
    )
    endpoints = {
        endpoint.token: endpoint
        for endpoint in Endpoint.objects.filter(
            token__in=[row["endpoint_token"] for row in rows]
        ).select_related("instance__customer")
    }
    return [
        RefusingEndpoint(
            endpoint=endpoints.get(row["endpoint_token"]),
            token=row["endpoint_token"],
            requests=row["requests"],
            status_429=row["status_429"],
            other_4xx=row["all_4xx"] - row["status_429"],
        )
        for row in rows
    ]


def dashboard_read(*, now: datetime | None = None) -> Dashboard:
    """Every figure of the admin's home page."""
    now = now or timezone.now()
    executions_since = now - EXECUTION_WINDOW
    endpoints_since = now - ENDPOINT_WINDOW
    overdue, overdue_total = overdue_schedules(now=now)
    return Dashboard(
        now=now,
        executions_since=executions_since,
        endpoints_since=endpoints_since,
        by_status=executions_by_status(since=executions_since),
        failing_flows=failing_flows(since=executions_since),
        queue=queue_depth(),
        overdue_schedules=overdue,
        overdue_total=overdue_total,
        refusing_endpoints=refusing_endpoints(since=endpoints_since),
    )
