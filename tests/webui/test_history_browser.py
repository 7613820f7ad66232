"""The execution history in a real browser (Debian's Chromium, against gunicorn on the test
database), at 1280 and 390 px: neither the instance page nor the history page is wider
than the window, the filter form narrows the rows and keeps the filters in the URL, the
pager moves between pages, and the first page picks up a new run by itself."""

from __future__ import annotations

import os
import re
import shutil
from datetime import UTC, datetime, timedelta

import pytest

from executions.models import Execution, TriggerKind
from executions.services import execution_create
from tests.fixtures.wizard import SECRET
from tests.webui.conftest import DOCS_SCREENSHOTS
from webui.history import HISTORY_PAGE_SIZE

pytestmark = pytest.mark.django_db(transaction=True)

DAY_ONE = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
WIDE = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
NO_OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth"


def _run(instance, *, status: str, at: datetime) -> Execution:
    execution = execution_create(
        instance=instance,
        flow=instance.integration.flows.get(name="Order Created"),
        trigger_kind=TriggerKind.WEBHOOK,
        payload={"body": {"data": {}}},
        enqueue=False,
    )
    Execution.objects.filter(pk=execution.pk).update(
        status=status,
        created_at=at,
        started_at=at,
        ended_at=at + timedelta(milliseconds=420),
    )
    return execution


def _docs_screenshot(page, screenshots, name: str) -> None:
    """The shot under test-artifacts/ and, with TRIGGERFISH_UI_DOCS=1, as docs/ui/<name>
    (named for docs/ui.md, not numbered in the order taken as ``screenshots.take`` does)."""
    path = screenshots.folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("TRIGGERFISH_UI_DOCS") == "1":
        shutil.copyfile(path, DOCS_SCREENSHOTS / f"{name}.png")


def test_history_pages_filters_and_fits_a_phone(
    chromium,
    static_collected,
    start_live_server,
    make_instance,
    orders_integration,
    user_a,
    screenshots,
):
    # Here, not at the top: playwright is a test extra (the chromium fixture skips without it).
    from playwright.sync_api import expect

    instance = make_instance(
        orders_integration, name="Webshop orders", config_values={"Shop Secret": SECRET}
    )
    # 30 runs on one day, every third failed, and 3 the next day.
    for index in range(30):
        status = "failed" if index % 3 == 0 else "succeeded"
        _run(instance, status=status, at=DAY_ONE + timedelta(minutes=index))
    for index in range(3):
        _run(instance, status="succeeded", at=DAY_ONE + timedelta(days=1, minutes=index))

    server = start_live_server(workers=2)
    context = chromium.new_context(base_url=server.url, viewport=WIDE)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/wizard/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("alice-pass")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Instances")).to_be_visible()

    rows = page.locator("[data-execution]")
    for viewport in (WIDE, PHONE):
        page.set_viewport_size(viewport)
        page.goto(f"/wizard/instances/{instance.pk}/")
        expect(rows).to_have_count(HISTORY_PAGE_SIZE)
        assert page.evaluate(NO_OVERFLOW), viewport

    # The history page: styled, paged ---------------------------------------------------
    page.set_viewport_size(WIDE)
    page.goto(f"/wizard/instances/{instance.pk}/history/")
    expect(page.get_by_role("heading", name="Execution history")).to_be_visible()
    assert page.evaluate("getComputedStyle(document.body).margin") == "0px"  # the stylesheet
    expect(page.locator("[data-history-count]")).to_have_text(
        "Runs 1\N{EN DASH}25 of 33, newest first"
    )
    page.get_by_role("link", name="Older →").click()
    expect(page).to_have_url(re.compile(r"\?page=2"))
    expect(rows).to_have_count(33 - HISTORY_PAGE_SIZE)
    page.get_by_role("link", name="← Newer").click()
    expect(rows).to_have_count(HISTORY_PAGE_SIZE)

    # Filtering: failed runs of the first day ----------------------------------------
    page.get_by_label("Status", exact=True).select_option("failed")
    page.get_by_label("From (UTC)", exact=True).fill("2026-11-20")
    page.get_by_label("To (UTC)", exact=True).fill("2026-11-20")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"status=failed&from=2026-11-20&to=2026-11-20"))
    expect(rows).to_have_count(10)
    expect(page.locator('[data-execution][data-status="succeeded"]')).to_have_count(0)
    expect(page.locator("[data-history-count]")).to_contain_text("of 10 matching the filters")
    expect(page.get_by_label("Status", exact=True)).to_have_value("failed")
    assert page.evaluate(NO_OVERFLOW)
    _docs_screenshot(page, screenshots, "09-history-1280")

    # A run that arrives while the page is open shows up by itself (the fragment refresh).
    late = _run(instance, status="failed", at=DAY_ONE + timedelta(hours=5))
    expect(page.locator(f'[data-execution="{late.pk}"]')).to_be_visible(timeout=15_000)
    expect(rows).to_have_count(11)

    # A phone: one card per run, every column readable, nothing wider than the screen ---
    page.set_viewport_size(PHONE)
    page.reload()
    expect(rows).to_have_count(11)
    assert page.evaluate(NO_OVERFLOW)
    first = rows.first
    for label in ("Status", "Flow", "Started by", "Time", "Duration"):
        cell = first.locator(f'td[data-label="{label}"]')
        box = cell.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    expect(first).to_contain_text("Order Created")
    expect(first).to_contain_text("0.42 s")
    _docs_screenshot(page, screenshots, "09-history-390")

    # Clear the filters; an unreadable value is named on the page, not a server error.
    page.get_by_role("link", name="Clear").click()
    expect(rows).to_have_count(HISTORY_PAGE_SIZE)
    expect(page.locator("[data-pager]")).to_contain_text("Page 1 of 2")  # the pager fits too
    assert page.evaluate(NO_OVERFLOW)
    response = page.goto(f"/wizard/instances/{instance.pk}/history/?status=nope&from=13/45")
    assert response is not None and response.status == 400
    expect(page.locator("[data-history-problem]")).to_have_count(2)
    assert page.evaluate(NO_OVERFLOW)
    context.close()
