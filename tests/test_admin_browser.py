"""The executions list and an execution's page in a real browser (Debian's Chromium via
Playwright) against gunicorn on the test database, at 1280 and 390 px: at 1280 px Status,
Trigger and Started are on screen, and no page is wider than its viewport."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from executions.models import Execution, TriggerKind
from executions.runner import execution_run
from executions.services import execution_create
from tests.fixtures.admin_browser import WIDTHS, admin_screenshot, page_fits, staff_page
from tests.fixtures.domain import definition

# The wizard's browser fixtures: one headless Chromium per test, static files collected.
from tests.webui.conftest import chromium, static_collected  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def _history(make_integration, make_instance, customer_a, customer_b) -> Execution:
    """A run of four steps (the one whose page is shown) among a few dozen others in every
    status, with names as long as real ones."""
    spec = definition(name="Webshop order synchronisation")
    spec["flows"][0]["name"] = "Order created in the shop"
    spec["flows"][0]["steps"] = [
        {"name": "Note the order", "action": "log.write", "inputs": {"message": "order"}},
        {
            "name": "Split the lines",
            "action": "text.split",
            "inputs": {"text": "a,b,c", "separator": ","},
        },
        {"name": "Note the lines", "action": "log.write", "inputs": {"message": "lines"}},
        {
            "name": "Reply",
            "action": "flow.return",
            "inputs": {"data": "{{ steps['Split the lines'] }}"},
        },
    ]
    integration = make_integration(spec)
    shop = make_instance(integration, name="Acme webshop (production)")
    other = make_instance(integration, customer=customer_b, name="Globex storefront")
    flow = integration.flows.get()
    now = timezone.now()
    for index, status in enumerate(["succeeded", "failed", "running", "queued", "canceled"] * 6):
        execution = execution_create(
            instance=shop if index % 2 else other,
            flow=flow,
            trigger_kind=TriggerKind.WEBHOOK if index % 3 else TriggerKind.SCHEDULE,
            payload={"body": {"data": {"n": index}}},
            enqueue=False,
        )
        started = now - timedelta(minutes=index, seconds=index * 7)
        Execution.objects.filter(pk=execution.pk).update(
            status=status,
            started_at=None if status == "queued" else started,
            ended_at=started + timedelta(seconds=index * 1.7)
            if status in ("succeeded", "failed", "canceled")
            else None,
        )
    shown = execution_create(
        instance=shop,
        flow=flow,
        trigger_kind=TriggerKind.MANUAL,
        payload={"body": {"data": {"id": 1042}}},
        enqueue=False,
    )
    execution_run(execution_id=str(shown.pk))
    shown.refresh_from_db()
    assert shown.status == "succeeded", shown.error
    return shown


def test_executions_list_and_detail_fit_the_screen(
    chromium,  # noqa: F811 - the imported fixture
    static_collected,  # noqa: F811
    start_live_server,
    make_integration,
    make_instance,
    customer_a,
    customer_b,
    staff_user,
):
    shown = _history(make_integration, make_instance, customer_a, customer_b)
    server = start_live_server(workers=2)
    for width in WIDTHS:
        page = staff_page(
            chromium, server.url, width=width, next_url="/admin/executions/execution/"
        )
        page.wait_for_selector("#result_list")
        assert page.locator("#result_list tbody tr").count() == 31
        assert page.locator(".tf-badge-failed").count() == 6
        if width == 1280:
            for column in ("status_badge", "trigger", "started"):
                box = page.locator(f"#result_list thead th.column-{column}").bounding_box()
                assert box is not None, column
                assert box["x"] >= 0 and box["x"] + box["width"] <= 1280, (column, box)
            # Every column shows without scrolling the table sideways.
            overflow = page.evaluate(
                "() => { const box = document.querySelector('#changelist .results');"
                " return box.scrollWidth - box.clientWidth; }"
            )
            assert overflow <= 0, f"the table scrolls {overflow} px sideways at 1280 px"
        page_fits(page)
        admin_screenshot(page, f"admin-executions-{width}")

        page.goto(f"/admin/executions/execution/{shown.pk}/change/")
        page.wait_for_selector("#steps-group")
        steps = page.locator("#steps-group tbody tr.has_original")
        assert steps.count() == 4
        assert page.locator("#steps-group td.field-duration").first.inner_text().endswith("ms")
        page_fits(page)
        admin_screenshot(page, f"admin-execution-{width}")

        # The instance that ran offers Remove, and no Delete.
        page.goto(f"/admin/instances/instance/{shown.instance_id}/change/")
        assert page.get_by_role("link", name="Remove", exact=True).is_visible()
        assert page.locator("a.deletelink").count() == 0
        page_fits(page)
        admin_screenshot(page, f"admin-instance-remove-{width}")
        page.context.close()
