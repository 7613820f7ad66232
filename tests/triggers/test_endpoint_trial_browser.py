"""The admin's "Test this flow" in a real browser (headless Debian Chromium via Playwright)
against gunicorn and a Celery worker on the test database, at 1280 and 390 px: a
synchronous trial shows the 303 with its Location redacted and the followed result, and the
page is never wider than its viewport.

With ``TRIGGERFISH_UI_DOCS=1`` the screenshots refresh docs/ui/admin-trial-*.png."""

from __future__ import annotations

import os
import shutil

import pytest
from django.urls import reverse

from instances.models import Endpoint
from tests.fixtures.domain import definition
from tests.webui.conftest import (  # noqa: F401 - fixtures
    ARTIFACTS,
    DOCS_SCREENSHOTS,
    chromium,
    static_collected,
)
from triggers.webhooks.trial import SIGNED_RESULT_URL

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = {1280: 900, 390: 844}

WIDER_THAN_VIEWPORT = """() => [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
    .slice(0, 8)
    .map(el => `${el.tagName}#${el.id}.${el.className} ${el.getBoundingClientRect().right}`)"""


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
    folder = ARTIFACTS / "admin-trial"
    folder.mkdir(parents=True, exist_ok=True)
    for width, height in WIDTHS.items():
        context = chromium.new_context(
            base_url=server.url, viewport={"width": width, "height": height}
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.goto(reverse("admin:triggers_endpoint_test", args=[endpoint.pk]))
        page.get_by_label("Username").fill("staff")
        page.get_by_label("Password").fill("staff-pass")
        page.get_by_role("button", name="Log in").click()

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

        fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert fits, (width, page.evaluate(WIDER_THAN_VIEWPORT))
        path = folder / f"admin-trial-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        if os.environ.get("TRIGGERFISH_UI_DOCS") == "1":
            DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS_SCREENSHOTS / path.name)
        context.close()
