"""The step editor in a real browser (Debian's Chromium via Playwright) against gunicorn
on the test database, at 1280 and 390 px: add a step, pick its action, fill the inputs it
declares with the reference helper, move it up, save, and read the stored rows; no page
is wider than its viewport."""

from __future__ import annotations

import pytest

from integrations.models import Flow
from tests.fixtures.admin_browser import WIDTHS, admin_screenshot, page_fits, staff_page
from tests.fixtures.domain import definition

# The wizard's browser fixtures: one headless Chromium per test, static files collected.
from tests.webui.conftest import chromium, static_collected  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

FETCH_INPUTS = {"url": "{{ configVars['Base URL'] }}/orders", "timeoutSeconds": 5}
NOTIFY_MESSAGE = "Order from {{ configVars['Base URL'] }}: {{ steps['Fetch'].statusCode }}"


def _flow(make_integration, name: str) -> Flow:
    spec = definition(
        name=name,
        configVariables=[{"key": "Base URL", "type": "string", "default": "http://127.0.0.1:9"}],
    )
    spec["flows"][0]["steps"] = [
        {"name": "Fetch", "action": "http.request", "inputs": FETCH_INPUTS},
        {"name": "Reply", "action": "flow.return", "inputs": {"data": "{{ steps['Fetch'].data }}"}},
    ]
    return make_integration(spec).flows.get()


def _card(page, index: int):
    return page.locator("#steps-group .tf-step:not(.empty-form)").nth(index)


def _earlier_steps(page, index: int) -> str:
    return _card(page, index).locator(".tf-step-refs-list").first.text_content()


def test_pick_an_action_fill_its_inputs_with_references_reorder_and_save(
    chromium,  # noqa: F811 - the imported fixture
    static_collected,  # noqa: F811
    start_live_server,
    staff_user,
    make_integration,
):
    server = start_live_server(workers=2)
    errors: list[str] = []
    for width in WIDTHS:
        flow = _flow(make_integration, f"Orders {width}")
        change = f"/admin/integrations/flow/{flow.pk}/change/"
        page = staff_page(chromium, server.url, width=width, next_url=change, errors=errors)
        page.wait_for_selector("#steps-group .tf-step-inputs")

        # A stored step shows its action's declared inputs as fields, values in place.
        fetch = _card(page, 0)
        assert fetch.locator("[data-input=url] input").input_value().endswith("/orders")
        assert fetch.locator("[data-input=timeoutSeconds] input").input_value() == "5"
        assert fetch.locator("[data-input=url] .tf-step-required").is_visible()
        assert "default: GET" in fetch.locator("[data-input=method] input").get_attribute(
            "placeholder"
        )

        # Add a step and pick its action: its inputs appear as fields.
        page.locator("#steps-group .add-row a").click()
        notify = _card(page, 2)
        notify.locator("input[name$='-name']").fill("Notify")
        notify.locator("select[name$='-action']").select_option("log.write")
        assert "Write one line" in notify.locator(".tf-step-action-description").inner_text()
        message = notify.locator("[data-input=message] input")
        assert message.is_visible()
        assert notify.locator("[data-input=level] input").is_visible()

        # The reference helper: the steps above, the config variables; inserted at the caret.
        message.fill("Order from ")
        helper = notify.locator("details.tf-step-refs")
        helper.locator("summary").click()
        earlier = helper.locator(".tf-step-refs-list").first.inner_text()
        assert "steps['Fetch']" in earlier and "steps['Reply']" in earlier
        # Renaming a step above renames its reference at once.
        fetch.locator("input[name$='-name']").fill("Fetch orders")
        assert "steps['Fetch orders']" in _earlier_steps(page, 2)
        fetch.locator("input[name$='-name']").fill("Fetch")
        message.click()
        message.press("End")
        helper.get_by_role("button", name="configVars['Base URL']").click()
        message.press("End")
        message.press_sequentially(": ")
        # By keyboard: the reference goes into the input last focused, caret inside the braces.
        helper.get_by_role("button", name="steps['Fetch']").focus()
        page.keyboard.press("Enter")
        page.keyboard.type(".statusCode")
        assert message.input_value() == NOTIFY_MESSAGE

        # Move the new step up with the keyboard: it now runs before Reply.
        notify.get_by_role("button", name="Move this step up").focus()
        page.keyboard.press("Enter")
        assert _card(page, 1).locator("input[name$='-name']").input_value() == "Notify"
        assert "steps['Notify']" in _earlier_steps(page, 2)
        assert "steps['Reply']" not in _earlier_steps(page, 1)

        page_fits(page)
        admin_screenshot(page, f"admin-flow-steps-{width}")
        page.click("input[name=_continue]")
        page.wait_for_selector("ul.messagelist")
        assert "was changed successfully" in page.locator("ul.messagelist").inner_text()
        rows = flow.steps.order_by("position").values_list("position", "name", "action", "inputs")
        assert list(rows) == [
            (0, "Fetch", "http.request", FETCH_INPUTS),
            (1, "Notify", "log.write", {"message": NOTIFY_MESSAGE}),
            (2, "Reply", "flow.return", {"data": "{{ steps['Fetch'].data }}"}),
        ]
        page_fits(page)
        assert not errors, errors
        page.context.close()


def test_switching_action_keeps_inputs_and_an_input_error_shows_on_its_field(
    chromium,  # noqa: F811 - the imported fixture
    static_collected,  # noqa: F811
    start_live_server,
    staff_user,
    make_integration,
):
    server = start_live_server(workers=1)
    flow = _flow(make_integration, "Switching")
    page = staff_page(
        chromium, server.url, width=1280, next_url=f"/admin/integrations/flow/{flow.pk}/change/"
    )
    fetch = _card(page, 0)
    fetch.locator("[data-input=headers] textarea").fill('{"x-acme": "1"}')

    # flow.return declares headers too, not url or timeoutSeconds: those move to "other".
    fetch.locator("select[name$='-action']").select_option("flow.return")
    assert "x-acme" in fetch.locator("[data-input=headers] textarea").input_value()
    assert fetch.locator("[data-input=url]").count() == 0
    other = fetch.locator("details.tf-step-other")
    assert other.get_attribute("open") is not None
    assert "/orders" in other.locator("textarea").input_value()

    # And back: every value is where it was.
    fetch.locator("select[name$='-action']").select_option("http.request")
    assert fetch.locator("[data-input=url] input").input_value().endswith("/orders")
    assert fetch.locator("[data-input=timeoutSeconds] input").input_value() == "5"
    assert other.locator("textarea").input_value() == ""

    # The importer refuses a NUL in an input: the message is shown under that input.
    fetch.locator("[data-input=url] input").fill("http://127.0.0.1:9/\u0000")
    page.click("input[name=_continue]")
    page.wait_for_selector(".errornote")
    error = _card(page, 0).locator("[data-input=url] ul.errorlist")
    assert "NUL" in error.inner_text()
    stored = flow.steps.get(name="Fetch")
    assert stored.inputs == FETCH_INPUTS
    page_fits(page)
    page.context.close()


def test_without_javascript_the_inputs_json_box_saves_and_the_page_fits(
    chromium,  # noqa: F811 - the imported fixture
    static_collected,  # noqa: F811
    start_live_server,
    staff_user,
    make_integration,
):
    server = start_live_server(workers=1)
    flow = _flow(make_integration, "No script")
    page = staff_page(
        chromium,
        server.url,
        width=390,
        next_url=f"/admin/integrations/flow/{flow.pk}/change/",
        javascript=False,
    )
    reply = _card(page, 1)
    assert "data (any)" in reply.locator(".field-action .help").inner_text()
    reply.locator("textarea[name$='-inputs']").fill('{"data": "{{ trigger.headers }}"}')
    # Positions as typed run lowest first, and are renumbered from 0 on save.
    _card(page, 0).locator("input[name$='-position']").fill("5")
    page_fits(page)
    admin_screenshot(page, "admin-flow-steps-no-script-390")
    # Saved from the keyboard: Enter on "Save and continue editing".
    with page.expect_navigation():
        page.locator("input[name=_continue]").press("Enter")
    assert "was changed successfully" in page.locator("ul.messagelist").inner_text()
    rows = flow.steps.order_by("position").values_list("position", "name", "inputs")
    assert list(rows) == [
        (0, "Reply", {"data": "{{ trigger.headers }}"}),
        (1, "Fetch", FETCH_INPUTS),
    ]
    page.context.close()
