"""An instance's admin page in Chromium at 1280 and 390 px: the typed config fields, a
deploy that fails on a missing secret and links to its field, setting it there, the next
runs in the schedule's zone, the webhook URL's copy button; no page wider than its
viewport and no secret on the page."""

from __future__ import annotations

import pytest

from instances.models import ApiKey, Instance
from tests.fixtures.admin_browser import admin_screenshot, page_fits, staff_page
from tests.test_admin_instances import DEFINITION, SECRET

# The wizard's browser fixtures: one headless Chromium per test, static files collected.
from tests.webui.conftest import chromium, static_collected  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def test_instance_page_configures_and_deploys(
    chromium,  # noqa: F811 - the imported fixture
    static_collected,  # noqa: F811
    start_live_server,
    make_integration,
    customer_a,
    staff_user,
):
    integration = make_integration(DEFINITION)
    server = start_live_server(workers=2)
    for width in (1280, 390):
        # As the admin's add form saves one: no values yet.
        instance = Instance.objects.create(
            integration=integration, customer=customer_a, name=f"Acme webshop {width}"
        )
        change = f"/admin/instances/instance/{instance.pk}/change/"
        page = staff_page(chromium, server.url, width=width, next_url=change)
        page.wait_for_selector("#config")
        # The schedule flow is listed before any deploy, in its zone.
        assert (
            "Next runs (America/Chicago)" in page.locator(".field-schedule_next_runs").inner_text()
        )
        page.click("button.tf-deploy")
        error = page.locator(".messagelist .error")
        assert "Signing Secret: A value is required." in error.inner_text()
        error.get_by_role("link", name="Signing Secret").click()
        page.wait_for_url(f"**{change}#config-cv2")
        assert page.evaluate("() => document.querySelector(':target').id") == "config-cv2"
        page.fill("#id_cv2_value", SECRET)
        page.click("input[name=_continue]")
        page.wait_for_selector(".messagelist .success")
        assert page.locator("#config-cv2 .tf-stored").inner_text() == "stored (hidden)"
        page.click("button.tf-deploy")
        assert "Deployed" in page.locator(".messagelist .success").inner_text()
        key = ApiKey.objects.create(instance=instance, flow_name="Order Created")
        page.reload()
        copy = page.locator('[data-copy="#tf-url-1"]')
        copy.click()
        page.wait_for_function(
            "() => document.querySelector('[data-copy=\"#tf-url-1\"]')"
            ".textContent.startsWith('Copied')"
        )
        html = page.content()
        assert SECRET not in html
        assert key.key not in html
        assert key.key[-4:] in html
        page_fits(page)
        admin_screenshot(page, f"admin-instance-{width}")
        page.context.close()
