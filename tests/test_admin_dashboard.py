"""The admin's home page: the dashboard's figures, the lists they link to, the "Advanced"
section for django-celery-beat's models, and a query count that does not grow with data."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from executions.models import Execution, ExecutionStatus, TriggerKind
from executions.services import execution_create
from instances.models import Endpoint, Instance
from ops.dashboard import dashboard_read
from triggers.models import EndpointActivity
from triggers.schedules.periodic_tasks import FIRE_TASK

pytestmark = pytest.mark.django_db

DEFINITION = {
    "name": "Dashboarded",
    "flows": [
        {
            "name": "Tick",
            "trigger": {"type": "schedule", "schedule": {"cron": "*/5 * * * *"}},
            "steps": [{"name": "R", "action": "flow.return"}],
        },
        {
            "name": "Hook",
            "trigger": {"type": "webhook"},
            "steps": [{"name": "R", "action": "flow.return"}],
        },
    ],
}


@pytest.fixture
def integration(make_integration):
    return make_integration(DEFINITION)


def run(instance: Instance, status: str, *, flow: str = "Hook", age: timedelta | None = None):
    execution = execution_create(
        instance=instance,
        flow=instance.integration.flows.get(name=flow),
        trigger_kind=TriggerKind.WEBHOOK,
        payload={"body": {"data": {}}},
        enqueue=False,
    )
    changes: dict = {"status": status}
    if age is not None:
        changes["created_at"] = timezone.now() - age
    Execution.objects.filter(pk=execution.pk).update(**changes)
    return execution


def links(html: str, css_class: str) -> list[str]:
    return [unescape(href) for href in re.findall(rf'class="{css_class}" href="([^"]+)"', html)]


def test_staff_see_the_dashboard_and_customers_are_refused(client, staff_user, user_a):
    client.force_login(user_a)
    refused = client.get(reverse("admin:index"))
    assert refused.status_code == 302 and "/admin/login/" in refused["Location"]
    client.force_login(staff_user)
    page = client.get(reverse("admin:index")).content.decode()
    for section in (
        "dashboard-status",
        "dashboard-queue",
        "dashboard-failing",
        "dashboard-overdue",
        "dashboard-endpoints",
    ):
        assert f'id="{section}"' in page


def test_executions_by_status_count_the_last_day_only(integration, make_instance):
    instance = make_instance(integration)
    run(instance, ExecutionStatus.SUCCEEDED)
    run(instance, ExecutionStatus.SUCCEEDED)
    run(instance, ExecutionStatus.FAILED)
    run(instance, ExecutionStatus.FAILED, age=timedelta(hours=25))  # outside the window
    counts = {item.status: item.count for item in dashboard_read().by_status}
    assert counts == {
        "queued": 0,
        "running": 0,
        "succeeded": 2,
        "failed": 1,
        "canceled": 0,
    }
    widths = {item.status: item.percent for item in dashboard_read().by_status}
    assert widths["succeeded"] == 100 and widths["failed"] == 50


def test_failing_flow_links_open_the_filtered_executions_list(
    client, staff_user, integration, make_instance, customer_b
):
    main = make_instance(integration)
    other = make_instance(integration, name="Other", customer=customer_b)
    for _ in range(3):
        run(main, ExecutionStatus.FAILED)
    run(main, ExecutionStatus.FAILED, flow="Tick")
    run(main, ExecutionStatus.SUCCEEDED)
    run(other, ExecutionStatus.FAILED)
    run(other, ExecutionStatus.FAILED, age=timedelta(days=2))

    failing = dashboard_read().failing_flows
    assert [(item.instance_name, item.flow_name, item.failed) for item in failing] == [
        ("Main", "Hook", 3),
        ("Main", "Tick", 1),
        ("Other", "Hook", 1),
    ]

    client.force_login(staff_user)
    page = client.get(reverse("admin:index")).content.decode()
    hrefs = links(page, "failing-link")
    assert len(hrefs) == 3
    for href, expected in zip(hrefs, (3, 1, 1), strict=True):
        response = client.get(href)
        assert response.status_code == 200, href
        shown = list(response.context["cl"].queryset)
        assert len(shown) == expected, href
        assert {row.status for row in shown} == {"failed"}
    # The last link is the other instance's, whose two-day-old failure is left out.
    assert {row.instance_id for row in client.get(hrefs[2]).context["cl"].queryset} == {other.pk}


def test_status_bar_links_filter_by_status(client, staff_user, integration, make_instance):
    instance = make_instance(integration)
    run(instance, ExecutionStatus.CANCELED)
    run(instance, ExecutionStatus.SUCCEEDED)
    client.force_login(staff_user)
    page = client.get(reverse("admin:index")).content.decode()
    href = unescape(re.search(r'href="([^"]+)" data-status="canceled"', page).group(1))
    response = client.get(href)
    assert response.status_code == 200
    assert [row.status for row in response.context["cl"].queryset] == ["canceled"]


def test_queue_depth_and_the_oldest_queued_age(integration, make_instance):
    instance = make_instance(integration)
    assert dashboard_read().queue.queued == 0
    assert dashboard_read().queue.oldest_age is None
    run(instance, ExecutionStatus.QUEUED, age=timedelta(minutes=30))
    run(instance, ExecutionStatus.QUEUED)
    run(instance, ExecutionStatus.RUNNING, age=timedelta(hours=2))
    queue = dashboard_read().queue
    assert queue.queued == 2
    assert queue.oldest_age is not None
    assert timedelta(minutes=29) < queue.oldest_age < timedelta(minutes=31)


def test_overdue_schedules_are_enabled_fire_tasks_late_past_the_grace(
    integration, make_instance, customer_b
):
    on_time = make_instance(integration, name="On time")
    late = make_instance(integration, name="Late", customer=customer_b)
    paused = make_instance(integration, name="Paused")
    tasks = PeriodicTask.objects.filter(task=FIRE_TASK)
    # Half a minute past a five-minute boundary, so every fire time below is exact.
    boundary = timezone.now().replace(second=0, microsecond=0)
    boundary -= timedelta(minutes=boundary.minute % 5)
    now = boundary + timedelta(seconds=30)
    # Every five minutes: one that ran a minute ago is on time; one that last ran an hour
    # ago was due at boundary - 55 min; a disabled one is nobody's concern.
    tasks.filter(kwargs__contains=str(on_time.pk)).update(last_run_at=now - timedelta(minutes=1))
    tasks.filter(kwargs__contains=str(late.pk)).update(last_run_at=now - timedelta(hours=1))
    tasks.filter(kwargs__contains=str(paused.pk)).update(
        last_run_at=now - timedelta(hours=1), enabled=False
    )
    dashboard = dashboard_read(now=now)
    assert dashboard.overdue_total == 1
    [overdue] = dashboard.overdue_schedules
    assert "Late" in overdue.name
    assert overdue.due == boundary - timedelta(minutes=55)
    assert overdue.late_by == timedelta(minutes=55, seconds=30)
    # Last run at the previous boundary: the next fire (at the boundary) is half a minute
    # late, within the grace, though the row is older than the grace and is read.
    tasks.filter(kwargs__contains=str(late.pk)).update(last_run_at=boundary - timedelta(minutes=5))
    assert dashboard_read(now=now).overdue_total == 0
    # Two boundaries missed: the fire due five and a half minutes ago is overdue.
    tasks.filter(kwargs__contains=str(late.pk)).update(last_run_at=boundary - timedelta(minutes=10))
    assert dashboard_read(now=now).overdue_total == 1


def test_endpoints_with_429s_and_other_4xx_in_the_last_hour(
    client, staff_user, integration, make_instance
):
    instance = make_instance(integration)
    endpoint = Endpoint.objects.get(instance=instance, flow_name="Hook")
    minute = timezone.now().replace(second=0, microsecond=0)
    EndpointActivity.objects.create(
        endpoint_token=endpoint.token, minute=minute, requests=10, status_4xx=6, status_429=4
    )
    EndpointActivity.objects.create(
        endpoint_token=endpoint.token,
        minute=minute - timedelta(minutes=5),
        requests=3,
        status_4xx=1,
    )
    EndpointActivity.objects.create(  # older than the hour
        endpoint_token=endpoint.token,
        minute=minute - timedelta(hours=2),
        requests=50,
        status_4xx=50,
    )
    EndpointActivity.objects.create(  # all fine
        endpoint_token="quiet-token", minute=minute, requests=10, status_2xx=10
    )
    [item] = dashboard_read().refusing_endpoints
    assert item.endpoint == endpoint
    assert (item.status_429, item.other_4xx, item.requests) == (4, 3, 13)

    client.force_login(staff_user)
    page = client.get(reverse("admin:index")).content.decode()
    activity = reverse("admin:triggers_endpoint_activity", args=[endpoint.pk])
    assert f'href="{activity}"' in page
    assert client.get(activity).status_code == 200


def test_queue_and_overdue_links_answer(client, staff_user, integration, make_instance):
    make_instance(integration)
    client.force_login(staff_user)
    page = client.get(reverse("admin:index")).content.decode()
    for href in re.findall(r'<h2><a href="([^"]+)"', page):
        assert client.get(unescape(href)).status_code == 200, href


def test_beat_models_are_under_advanced_after_the_product_apps(client, staff_user):
    client.force_login(staff_user)
    index = client.get(reverse("admin:index"))
    labels = [app["app_label"] for app in index.context["app_list"]]
    assert labels[-1] == "django_celery_beat"
    assert labels.index("integrations") < labels.index("django_celery_beat")
    page = index.content.decode()
    assert page.index(">Advanced</h2>") < page.index("app-django_celery_beat")
    assert page.index("app-integrations") < page.index(">Advanced</h2>")
    # The sidebar of any other page lists the same way.
    changelist = client.get(reverse("admin:integrations_integration_changelist"))
    sidebar = changelist.content.decode()
    assert sidebar.index("app-executions") < sidebar.index(">Advanced</h2>")
    assert sidebar.index(">Advanced</h2>") < sidebar.index("app-django_celery_beat")
    # Their URLs are unchanged.
    assert (
        client.get(reverse("admin:django_celery_beat_periodictask_changelist")).status_code == 200
    )


def _dashboard_queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("admin:index")).status_code == 200
    return len(captured.captured_queries)


def _add_load(integration, make_instance, customer, count: int) -> None:
    for number in range(count):
        instance = make_instance(
            integration, name=f"Load {customer.name} {number}", customer=customer
        )
        run(instance, ExecutionStatus.FAILED)
        run(instance, ExecutionStatus.QUEUED)
        run(instance, ExecutionStatus.SUCCEEDED, flow="Tick")
        PeriodicTask.objects.filter(kwargs__contains=str(instance.pk)).update(
            last_run_at=timezone.now() - timedelta(hours=1)
        )
        for endpoint in Endpoint.objects.filter(instance=instance):
            EndpointActivity.objects.create(
                endpoint_token=endpoint.token,
                minute=timezone.now().replace(second=0, microsecond=0),
                requests=5,
                status_4xx=2,
                status_429=1,
            )


def test_dashboard_queries_do_not_grow_with_data(
    client, staff_user, integration, make_instance, customer_a, customer_b
):
    client.force_login(staff_user)
    _add_load(integration, make_instance, customer_a, 2)
    _dashboard_queries(client)  # the session and content types warm up
    few = _dashboard_queries(client)
    _add_load(integration, make_instance, customer_b, 6)
    many = _dashboard_queries(client)
    dashboard = dashboard_read()
    assert dashboard.overdue_total == 8 and dashboard.queue.queued == 8
    assert len(dashboard.refusing_endpoints) == 8
    assert many == few
    assert many <= 12, many
