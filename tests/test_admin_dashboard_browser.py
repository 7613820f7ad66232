"""The admin's dashboard in a real browser (headless Debian Chromium via Playwright, as the
wizard's tests) against gunicorn on the test database, at 1280 and 390 px: every section
renders with its figures, "Advanced" comes after the product's apps, and no page is wider
than its viewport.

With ``TRIGGERFISH_UI_DOCS=1`` the screenshots refresh docs/ui/admin-dashboard-*.png."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from executions.models import Execution, ExecutionStatus, TriggerKind
from executions.services import execution_create
from instances.models import Endpoint
from tests.fixtures.admin_browser import admin_screenshot, page_fits, staff_page
from tests.webui.conftest import (  # noqa: F401 - fixtures
    chromium,
    static_collected,
)
from triggers.models import EndpointActivity

pytestmark = pytest.mark.django_db(transaction=True)

DEFINITION = {
    "name": "Order Sync",
    "flows": [
        {
            "name": "Nightly Sync",
            "trigger": {"type": "schedule", "schedule": {"cron": "*/5 * * * *"}},
            "steps": [{"name": "R", "action": "flow.return"}],
        },
        {
            "name": "Order Created",
            "trigger": {"type": "webhook"},
            "steps": [{"name": "R", "action": "flow.return"}],
        },
    ],
}

WIDTHS = {1280: 900, 390: 844}


# What sticks out of the viewport, for the failure message.
def _runs(instance, flow_name: str, status: str, count: int, *, age: timedelta) -> None:
    for _ in range(count):
        execution = execution_create(
            instance=instance,
            flow=instance.integration.flows.get(name=flow_name),
            trigger_kind=TriggerKind.WEBHOOK,
            payload={"body": {"data": {}}},
            enqueue=False,
        )
        Execution.objects.filter(pk=execution.pk).update(
            status=status, created_at=timezone.now() - age
        )


@pytest.fixture
def busy_day(make_integration, make_instance, customer_a, customer_b):
    integration = make_integration(DEFINITION)
    shop = make_instance(integration, name="Webshop orders", customer=customer_a)
    warehouse = make_instance(integration, name="Warehouse sync", customer=customer_b)
    _runs(shop, "Order Created", ExecutionStatus.SUCCEEDED, 14, age=timedelta(hours=3))
    _runs(shop, "Order Created", ExecutionStatus.FAILED, 3, age=timedelta(hours=2))
    _runs(warehouse, "Nightly Sync", ExecutionStatus.FAILED, 1, age=timedelta(hours=5))
    _runs(warehouse, "Order Created", ExecutionStatus.CANCELED, 2, age=timedelta(hours=1))
    _runs(shop, "Order Created", ExecutionStatus.QUEUED, 4, age=timedelta(minutes=12))
    PeriodicTask.objects.filter(kwargs__contains=str(warehouse.pk)).update(
        last_run_at=timezone.now() - timedelta(hours=2)
    )
    PeriodicTask.objects.filter(kwargs__contains=str(shop.pk)).update(
        last_run_at=timezone.now() - timedelta(minutes=1)
    )
    endpoint = Endpoint.objects.get(instance=shop, flow_name="Order Created")
    EndpointActivity.objects.create(
        endpoint_token=endpoint.token,
        minute=timezone.now().replace(second=0, microsecond=0),
        requests=40,
        status_2xx=28,
        status_4xx=12,
        status_429=9,
    )


def test_dashboard_renders_every_section_at_desktop_and_phone_widths(
    chromium,  # noqa: F811 - the imported fixture
    static_collected,  # noqa: F811
    start_live_server,
    busy_day,
    staff_user,
):
    # Here, not at the top: playwright is a test extra; the chromium fixture has skipped
    # this test by now when it is missing.
    from playwright.sync_api import expect

    server = start_live_server(workers=1)
    for width, height in WIDTHS.items():
        page = staff_page(chromium, server.url, width=width, height=height)

        expect(page.locator("#dashboard-status h2")).to_contain_text(
            "Executions, last 24 hours (24)"
        )
        bars = page.get_by_role("list", name="Executions by status")
        expect(bars.locator("a[data-status=succeeded] .count")).to_have_text("14")
        expect(bars.locator("a[data-status=failed] .count")).to_have_text("4")
        expect(page.locator("#dashboard-queue .queued-count")).to_have_text("4")
        expect(page.locator("#dashboard-queue")).to_contain_text("12")
        failing = page.locator("#dashboard-failing tbody tr")
        expect(failing).to_have_count(2)
        expect(failing.first).to_contain_text("Webshop orders")
        expect(failing.first.locator("a")).to_have_text("3")
        expect(page.locator("#dashboard-overdue h2")).to_contain_text("Overdue schedules (1)")
        expect(page.locator("#dashboard-overdue tbody")).to_contain_text("Warehouse sync")
        refusing = page.locator("#dashboard-endpoints tbody tr")
        expect(refusing).to_have_count(1)
        expect(refusing.locator("td.num")).to_have_text(["9", "3", "40"])
        advanced = page.locator("h2.tf-advanced-heading")
        expect(advanced).to_have_text("Advanced")
        assert page.evaluate(
            """() => {
                const heading = document.querySelector('h2.tf-advanced-heading');
                const product = document.querySelector('.app-integrations');
                const beat = document.querySelector('.app-django_celery_beat');
                const follows = (a, b) =>
                    a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING;
                return Boolean(follows(product, heading) && follows(heading, beat));
            }"""
        )
        page_fits(page)
        admin_screenshot(page, f"admin-dashboard-{width}")

        # A failing flow's link opens its filtered list, which fits too.
        failing.first.locator("a").click()
        expect(page.locator("#result_list tbody tr")).to_have_count(3)
        # The sidebar lists the apps as the home page does, "Advanced" last.
        expect(page.locator("#nav-sidebar h2.tf-advanced-heading")).to_have_count(1)
        expect(page.locator("#nav-sidebar .module").last).to_have_class(
            re.compile("app-django_celery_beat")
        )
        page.context.close()
