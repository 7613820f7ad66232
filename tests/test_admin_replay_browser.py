"""Bulk replay in Chromium at 1280 and 390 px: from the failed executions, "Replay all
matching the current filters" confirms with their count; confirming opens the job with
its progress and items; no page wider than its viewport."""

from __future__ import annotations

import pytest

from executions.models import Execution, ReplayJob
from tests.fixtures.admin_browser import WIDTHS, admin_screenshot, page_fits, staff_page
from tests.fixtures.executions import execution_make

# The wizard's browser fixtures: one headless Chromium per test, static files collected.
from tests.webui.conftest import chromium, static_collected  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def test_replay_all_matching_confirms_and_opens_the_job(
    chromium,  # noqa: F811 - the imported fixture
    static_collected,  # noqa: F811
    start_live_server,
    staff_user,
):
    made = [execution_make(steps=[("R", "flow.return", {"data": 1})]) for _ in range(3)]
    Execution.objects.filter(pk__in=[e.pk for e in made]).update(
        status="failed", error="The shop answered 503."
    )
    server = start_live_server(workers=2)
    for width in WIDTHS:
        errors: list[str] = []
        page = staff_page(
            chromium,
            server.url,
            width=width,
            next_url="/admin/executions/execution/?status__exact=failed",
            errors=errors,
        )
        page.click("text=Replay all matching the current filters")
        page.wait_for_selector("text=Yes, replay 3")
        assert "3 finished executions will be replayed" in page.inner_text("#content")
        admin_screenshot(page, f"replay-confirm-{width}")
        page_fits(page)
        page.check("input[name=definition][value=original]")
        page.click("text=Yes, replay 3")
        page.wait_for_selector(".messagelist .success")
        job = ReplayJob.objects.order_by("-created_at").first()
        assert job is not None and job.total == 3 and job.definition == "original"
        assert "0 of 3 done" in page.inner_text(".field-progress")
        assert page.locator(".field-items_list tbody tr").count() == 3
        admin_screenshot(page, f"replay-job-{width}")
        page_fits(page)
        assert errors == []
        page.context.close()
