"""Alert monitors in Chromium at 1280 and 390 px: from an instance's page, "Add alert
monitor" for a flow opens the add form with that scope; a webhook and an email channel are
added and saved; the secret is shown on request and rotated; the monitor's recent events
show their deliveries' attempts; no page wider than its viewport."""

from __future__ import annotations

import pytest
from django.utils import timezone

from alerts.models import AlertChannel, AlertDelivery, AlertMonitor
from alerts.notices import alert_raise
from tests.fixtures.admin_browser import admin_screenshot, page_fits, staff_page

# The wizard's browser fixtures: one headless Chromium per test, static files collected.
from tests.webui.conftest import chromium, static_collected  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def test_monitor_from_an_instance_flow_with_secret_and_events(
    chromium,  # noqa: F811 - the imported fixture
    static_collected,  # noqa: F811
    start_live_server,
    make_integration,
    make_instance,
    staff_user,
):
    integration = make_integration()
    server = start_live_server(workers=2)
    for width in (1280, 390):
        instance = make_instance(integration, name=f"Acme webshop {width}")
        errors: list[str] = []
        page = staff_page(
            chromium,
            server.url,
            width=width,
            next_url=f"/admin/instances/instance/{instance.pk}/change/",
            errors=errors,
        )
        assert page.locator("a.tf-add-alert").is_visible()
        page.click('#alerts a[data-flow="Echo"]')
        page.wait_for_selector("#alertmonitor_form")
        assert page.input_value("#id_flow_name") == "Echo"
        assert page.input_value("#id_instance") == str(instance.pk)
        assert page.input_value("#id_customer") == str(instance.customer_id)
        page.select_option("#id_event", "execution.failed")
        page.fill("#id_threshold", "{}")
        page.click("#channels-group .add-row a")
        page.select_option("#id_channels-0-type", "webhook")
        page.fill("#id_channels-0-url", "https://ops.example.com/hooks/tf")
        page.click("#channels-group .add-row a")
        page.select_option("#id_channels-1-type", "email")
        page.fill("#id_channels-1-position", "1")
        page.fill("#id_channels-1-to", "ops@example.com")
        admin_screenshot(page, f"alerts-monitor-add-{width}")
        page_fits(page)
        page.click("input[name=_continue]")
        page.wait_for_selector(".messagelist .success")
        monitor = AlertMonitor.objects.get(instance=instance)
        webhook = AlertChannel.objects.get(monitor=monitor, type="webhook")
        assert webhook.secret.startswith("whsec_")

        event = alert_raise(monitor=monitor, instance=instance, flow_name="Echo")
        assert event is not None
        delivery = AlertDelivery.objects.get(event=event, channel_type="webhook")
        delivery.attempts = [
            {"at": timezone.now().isoformat(), "status": 503, "error": "Answered 503."}
        ]
        delivery.save()
        page.reload()
        page.click(".tf-secret summary")
        assert page.locator(".tf-secret code").inner_text() == webhook.secret
        assert "Answered 503." in page.locator(".field-recent_events").inner_text()
        admin_screenshot(page, f"alerts-monitor-{width}")
        page_fits(page)

        page.click("text=Rotate secret")
        page.wait_for_selector(".messagelist .success")
        webhook.refresh_from_db()
        page.click(".tf-secret summary")
        assert page.locator(".tf-secret code").inner_text() == webhook.secret

        page.goto("/admin/alerts/alertevent/")
        assert "execution.failed" in page.locator("#result_list").inner_text()
        admin_screenshot(page, f"alerts-events-{width}")
        page_fits(page)
        assert errors == []
        page.context.close()
