"""The admin's "Test this flow" in a real browser (headless Debian Chromium via Playwright)
against gunicorn and a Celery worker on the test database, at 1280 and 390 px: a
synchronous trial shows the 303 with its Location redacted and the followed result, and the
page is never wider than its viewport.

With ``TRIGGERFISH_UI_DOCS=1`` the screenshots refresh docs/ui/admin-trial-*.png."""

from __future__ import annotations

import pytest
from django.urls import reverse

from instances.models import Endpoint
from tests.fixtures.admin_browser import admin_screenshot, page_fits, staff_page
from tests.fixtures.domain import definition
from tests.webui.conftest import (  # noqa: F401 - fixtures
    chromium,
    static_collected,
)
from triggers.webhooks.trial import SIGNED_RESULT_URL

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = {1280: 900, 390: 844}


def test_a_sync_trial_shows_the_redirect_and_the_result_at_both_widths(
    chromium,  # noqa: F811 - the imported fixture
    static_collected,  # noqa: F811
    start_live_server,
    celery_worker_process,
    celery_session_queue,
    make_integration,
    make_instance,
    staff_user,
):
    # Here, not at the top: playwright is a test extra; the chromium fixture has skipped
    # this test by now when it is missing.
    from playwright.sync_api import expect

    flow = {
        "name": "Quote",
        "trigger": {"type": "webhook"},
        "steps": [
            {
                "name": "Reply",
                "action": "flow.return",
                "inputs": {"data": {"quote": "Q-{{ trigger.body.data.order }}", "ok": True}},
            }
        ],
    }
    instance = make_instance(make_integration(definition(name="Quotes", flows=[flow])))
    endpoint = Endpoint.objects.get(instance=instance)
    # The server's webhooks enqueue on this session's queue, the one the worker consumes.
    server = start_live_server(workers=1, env={"CELERY_TASK_DEFAULT_QUEUE": celery_session_queue})
    for width, height in WIDTHS.items():
        trial = reverse("admin:triggers_endpoint_test", args=[endpoint.pk])
        page = staff_page(chromium, server.url, width=width, height=height, next_url=trial)

        page.get_by_label("Synchronously: wait for the run and show its result").check()
        page.locator("#id_body").fill(f'{{"order": {width}}}')
        page.get_by_role("button", name="Send").click()

        answer = page.locator("#trial-answer")
        expect(answer.locator("h2")).to_have_text("Response: 303")
        expect(answer).to_contain_text(SIGNED_RESULT_URL)
        followed = page.locator("#trial-followed")
        expect(followed.locator("h2")).to_have_text("Result (followed the 303): 200")
        expect(followed).to_contain_text(f'"quote": "Q-{width}"')
        assert "/results/" not in page.content()
        # The next visit starts from the request just sent.
        page.reload()
        expect(page.locator("#id_body")).to_have_value(f'{{"order": {width}}}')
        page.goto(page.url)
        page.get_by_role("button", name="Send").click()
        expect(page.locator("#trial-followed")).to_contain_text(f'"quote": "Q-{width}"')

        page_fits(page)
        admin_screenshot(page, f"admin-trial-{width}")
        page.context.close()
