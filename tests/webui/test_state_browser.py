"""Persisted state in Chromium at 1280 and 390 px: the customer's instance page shows its
flow and instance state read only (a long value cut with a note, never the integration
scope), staff see and edit it in the admin; no page is wider than its viewport. The
screenshots are docs/state.md's (``TRIGGERFISH_UI_DOCS=1`` refreshes them)."""

from __future__ import annotations

import json

import pytest

from instances.models import Instance
from state.editing import state_instance_patch_apply, state_integration_patch_apply
from tests.fixtures.admin_browser import WIDTHS, admin_screenshot, page_fits, staff_page
from tests.webui.test_browser import _login

pytestmark = pytest.mark.django_db(transaction=True)

# One unbroken word: what would push a page wider than a phone if it did not wrap.
LONG_WORD = "eyJhbGciOiJIUzI1NiJ9" * 20


@pytest.fixture
def instance_with_state(make_integration, make_instance) -> Instance:
    instance = make_instance(make_integration(), name="Webshop orders")
    state_instance_patch_apply(
        instance=instance,
        patch={
            "instance": {"Access Token": LONG_WORD},
            "flows": {
                "Echo": {
                    "cursor": "2026-12-01T10:00:00Z",
                    "page": {"size": 100, "seen": list(range(600))},
                }
            },
        },
    )
    state_integration_patch_apply(
        integration_name=instance.integration.name, patch={"sharedSecretCount": 41}
    )
    return instance


def test_the_customer_sees_its_state_read_only_at_both_widths(
    chromium, static_collected, start_live_server, instance_with_state, user_a
):
    server = start_live_server(workers=2)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    _login(page, server.url, "alice", "alice-pass")
    page.goto(f"{server.url}/wizard/instances/{instance_with_state.pk}/")
    section = page.locator("#saved-state")
    text = section.inner_text()
    assert "Flow “Echo”" in text and "cursor" in text and "2026-12-01T10:00:00Z" in text
    assert "Access Token" in text
    assert "sharedSecretCount" not in page.content()  # the integration scope: never here
    assert section.locator("[data-state-cut]").count() == 1  # the 600 ids are cut
    assert section.locator("textarea, input, button").count() == 0  # read only
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page_fits(page)
        section.scroll_into_view_if_needed()
        admin_screenshot(page, f"wizard-state-{width}")
    context.close()


def test_staff_see_and_edit_state_in_the_admin_at_both_widths(
    chromium, static_collected, start_live_server, instance_with_state, staff_user
):
    server = start_live_server(workers=2)
    change = f"/admin/instances/instance/{instance_with_state.pk}/change/"
    for width in WIDTHS:
        page = staff_page(chromium, server.url, width=width, next_url=change)
        field = page.locator(".field-persisted_state")
        assert "cursor" in field.inner_text()
        page_fits(page)
        field.scroll_into_view_if_needed()
        admin_screenshot(page, f"admin-instance-state-{width}")
        field.get_by_role("link", name="Edit state").click()
        page.wait_for_selector("#id_instance")
        page_fits(page)
        admin_screenshot(page, f"admin-state-edit-{width}")
        edited = {"Access Token": "fresh", "retry": {"after": width}}
        page.fill("#id_instance", json.dumps(edited))
        page.click("input[type=submit]")
        assert "Saved the state" in page.locator(".messagelist .success").inner_text()
        page.fill("#id_instance", "{not json")
        page.click("input[type=submit]")
        assert "Not JSON" in page.locator(".errorlist").inner_text()
        page_fits(page)
        entry = instance_with_state.state_entries.get(scope="flow", key="cursor")
        page.goto(f"{server.url}/admin/state/stateentry/{entry.pk}/change/")
        assert "2026-12-01T10:00:00Z" in page.locator("#content").inner_text()
        assert page.locator("input[name=_save], input[name=_continue]").count() == 0
        page_fits(page)
        admin_screenshot(page, f"admin-state-entry-{width}")
        page.context.close()
    state = {
        entry.key: entry.value
        for entry in instance_with_state.state_entries.filter(scope="instance")
    }
    assert state == {"Access Token": "fresh", "retry": {"after": 390}}
