"""The wizard in a real browser (headless Chromium via Playwright) against a real server
(gunicorn on the test database) and a real Celery worker.

A customer user signs in, walks the wizard step by step (JSON checked as typed, a secret,
a custom cron in America/Chicago whose preview follows the typing), deploys, copies the
webhook URL from the clipboard, calls it over HTTP and watches the run succeed in the
history; runs the schedule flow now from its page; another customer's user gets 404s for
the same pages.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest

from executions.models import Execution
from instances.models import Instance
from instances.services import instance_create
from integrations.config_values import config_values_opened
from integrations.schedules import schedule_next_runs
from tests.fixtures.admin_browser import WIDTHS, page_fits
from tests.fixtures.worker import wait_for_execution
from webui.schedule_picker import fire_time_display

pytestmark = pytest.mark.django_db(transaction=True)

CHICAGO_CRON = "30 8 * * 1-5"


def _login(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/wizard/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_customer_configures_deploys_and_sees_a_webhook_run(
    chromium,
    static_collected,
    start_live_server,
    celery_worker_process,
    orders_integration,
    customer_a,
    user_a,
    user_b,
    screenshots,
    celery_session_queue,
):
    # Here, not at the top: playwright is a test extra; the chromium fixture has skipped
    # this test by now when it is missing.
    from playwright.sync_api import expect

    # The deployment team created the instance; the customer configures and deploys it.
    instance = instance_create(
        integration=orders_integration,
        customer=customer_a,
        name="Webshop orders",
        config_values={"Shop Secret": "first-secret-value"},
    )
    # The server's webhooks enqueue on this session's queue, the one the worker consumes.
    server = start_live_server(workers=2, env={"CELERY_TASK_DEFAULT_QUEUE": celery_session_queue})
    context = chromium.new_context(base_url=server.url, viewport={"width": 1200, "height": 860})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()

    # Sign in ---------------------------------------------------------------------------
    page.goto(f"{server.url}/wizard/")
    expect(page).to_have_url(re.compile(r"/wizard/login/"))
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("alice-pass")
    screenshots.take(page, "login")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Instances")).to_be_visible()
    expect(page.get_by_role("link", name="Webshop orders", exact=True)).to_be_visible()
    screenshots.take(page, "instances")

    # Step 1: basics ---------------------------------------------------------------------
    page.get_by_role("link", name="Configure Webshop orders").click()
    stepper = page.get_by_role("navigation", name="Wizard steps")
    expect(stepper.get_by_role("button")).to_have_text(
        [re.compile(name) for name in ("Basics", "Settings", "Secrets", "Schedule", "Review")]
    )
    expect(page.get_by_label("Instance name")).to_have_value("Webshop orders")
    expect(page.get_by_label("Shop URL")).to_be_hidden()  # one step at a time
    screenshots.take(page, "step-basics")
    page.get_by_role("button", name="Next").click()

    # Step 2: settings, with the JSON editor checking as the user types -----------------
    page.get_by_label("Shop URL").fill("https://shop.acme.test")
    page.get_by_label("Region").select_option("eu")
    page.get_by_label("Batch Size").fill("25")
    page.get_by_label("Send Receipts").check()
    mapping = page.get_by_label("Field Mapping")
    mapping.fill('{"sku": "product_id",')
    expect(page.locator("#id_cv4_value_jsonstatus")).to_contain_text("Not valid JSON")
    expect(mapping).to_have_attribute("aria-invalid", "true")
    mapping.fill('{"sku": "product_id", "qty": "quantity"}')
    expect(page.locator("#id_cv4_value_jsonstatus")).to_have_text("Valid JSON")
    screenshots.take(page, "step-settings")
    page.get_by_role("button", name="Next").click()

    # Step 3: secrets: the stored one is not in the page ---------------------------------
    secret = page.get_by_label("Shop Secret")
    expect(secret).to_have_value("")
    assert "first-secret-value" not in page.content()
    secret.fill("second-secret-value")
    screenshots.take(page, "step-secrets")
    page.get_by_role("button", name="Next").click()

    # Step 4: a custom cron in America/Chicago; the preview follows the typing -----------
    description = page.locator("[data-preview-description]")
    expect(description).to_have_text("Every 5 minutes")
    page.get_by_label("Runs").select_option("custom")
    page.get_by_label("Time zone").select_option("America/Chicago")
    cron = page.get_by_label("Cron expression")
    cron.fill("")
    cron.press_sequentially("30 8 * *", delay=20)  # four fields so far: not a cron yet
    expect(page.locator("[data-preview-error]")).to_contain_text("five are needed")
    cron.press_sequentially(" 1-5", delay=20)
    expect(description).to_have_text("Every weekday at 08:30 (America/Chicago)")
    expected_runs = [
        fire_time_display(moment)
        for moment in schedule_next_runs(
            {"cron": CHICAGO_CRON, "timeZone": "America/Chicago"}, after=datetime.now(UTC)
        )
    ]
    expect(page.locator("[data-preview-runs] li")).to_have_text(expected_runs)
    screenshots.take(page, "step-schedule")
    page.get_by_role("button", name="Next").click()

    # Step 5: review and deploy -------------------------------------------------------
    review = page.locator("[data-review]")
    expect(review).to_contain_text("Every weekday at 08:30 (America/Chicago)")
    expect(review).to_contain_text("new value (hidden)")
    assert "second-secret-value" not in review.inner_text()
    screenshots.take(page, "step-review")
    page.get_by_role("button", name="Save and deploy").click()

    # The deployed instance --------------------------------------------------------------
    expect(page.get_by_role("status").first).to_contain_text("Deployed.")
    instance.refresh_from_db()
    assert instance.is_deployed
    # Stored sealed (secrets at rest); what a run reads is the value typed last.
    assert instance.config_values["Shop Secret"] != "second-secret-value"
    assert config_values_opened(instance)["Shop Secret"] == "second-secret-value"
    assert instance.config_values["Sync Schedule"] == {
        "scheduleType": "custom",
        "value": CHICAGO_CRON,
        "timeZone": "America/Chicago",
    }
    assert instance.config_values["Field Mapping"] == {"sku": "product_id", "qty": "quantity"}
    assert instance.config_values["Batch Size"] == 25
    assert "second-secret-value" not in page.content()

    flow = page.locator('[data-flow="Order Created"]')
    flow.get_by_role("button", name="Copy webhook URL of Order Created").click()
    expect(flow.get_by_role("button", name="Copied webhook URL of Order Created")).to_be_visible()
    webhook_url = page.evaluate("navigator.clipboard.readText()")
    assert re.fullmatch(re.escape(server.url) + r"/trigger/[A-Za-z0-9_-]{22,}", webhook_url)

    key_text = flow.locator("[data-key]").first
    expect(key_text).to_contain_text("••••")
    flow.get_by_role("button", name="Reveal keys of Order Created").click()
    expect(key_text).not_to_contain_text("••••")
    api_key = key_text.inner_text().strip()
    expect(flow.locator("[data-curl]")).to_have_value(re.compile(re.escape(api_key)))

    schedule = page.locator('[data-flow="Nightly Sync"]')
    expect(schedule).to_contain_text("Every weekday at 08:30 (America/Chicago)")
    expect(schedule.locator("ol li")).to_have_count(5)
    screenshots.take(page, "deployed")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: one column, no overflow
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshots.take(page, "deployed-phone")
    page.set_viewport_size({"width": 1200, "height": 860})

    # Invoke the copied URL with the revealed key; the run shows up in the history ------
    response = httpx.post(
        webhook_url, json={"id": "A-1001", "total": 42}, headers={"Api-Key": api_key}
    )
    assert response.status_code == 200, response.text
    execution_id = response.json()["executionId"]
    assert wait_for_execution(execution_id).status == "succeeded"
    row = page.locator(f'[data-execution="{execution_id}"]')
    expect(row).to_have_attribute("data-status", "succeeded", timeout=15_000)
    expect(row).to_contain_text("Order Created")
    screenshots.take(page, "history")

    row.get_by_role("link", name=re.compile("Open")).click()
    expect(page.get_by_role("heading", name=re.compile("Order Created"))).to_be_visible()
    expect(page.locator(".step-result")).to_have_count(2)
    expect(page.locator(".result").last).to_contain_text('"A-1001"')
    expect(page.locator(".logs")).to_contain_text("order A-1001")
    screenshots.take(page, "execution")
    execution_page = page.url

    page.get_by_role("button", name="Replay").click()
    expect(page.get_by_role("status").first).to_contain_text("Replay queued.")
    assert page.url != execution_page

    # Run now: the schedule flow runs at once; the message links the run, and the page
    # still fits a desktop and a phone -------------------------------------------------
    page.goto(f"{server.url}/wizard/instances/{instance.pk}/")
    schedule.get_by_role("button", name="Run now Nightly Sync").click()
    message = page.locator(".messages")
    expect(message).to_contain_text("Nightly Sync is running now.")
    run_href = message.get_by_role("link", name="See the run").get_attribute("href") or ""
    run = Execution.objects.get(pk=run_href.rstrip("/").rsplit("/", 1)[-1])
    assert (run.flow.name, run.trigger_kind) == ("Nightly Sync", "schedule")
    assert wait_for_execution(run.pk).status == "succeeded"
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 860})
        page_fits(page)
        screenshots.take(page, f"run-now-{width}")
    context.close()

    # Another customer's user: the same pages do not exist -------------------------------
    other = chromium.new_context(base_url=server.url)
    other_page = other.new_page()
    _login(other_page, server.url, "bob", "bob-pass")
    expect(other_page.get_by_role("heading", name="Instances")).to_be_visible()
    expect(other_page.get_by_text("Webshop orders")).to_have_count(0)
    for path in (
        f"/wizard/instances/{instance.pk}/",
        f"/wizard/instances/{instance.pk}/configure/",
        execution_page.removeprefix(server.url),
    ):
        assert other_page.goto(f"{server.url}{path}").status == 404, path
    other.close()
    assert Instance.objects.filter(pk=instance.pk, customer=customer_a).exists()
