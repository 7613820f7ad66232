"""The admin as the deployment team's workbench, end to end in a real browser (Debian's
Chromium via Playwright) against gunicorn and a Celery worker on the test database:

build an integration from nothing — config variables, a GitHub-signed webhook flow with a
custom response and a step, a schedule flow on a config variable whose preview follows
what is typed — deploy it to a customer from the admin, call the webhook as GitHub would,
and open the execution with its steps. At 1280 px, then the editor again at 390 px; no
page is wider than its viewport."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
import pytest

from executions.models import Execution
from instances.models import Endpoint, Instance
from integrations.models import Flow, Integration
from tests.fixtures.admin_browser import admin_screenshot, page_fits, staff_page

# The wizard's browser fixtures: one headless Chromium per test, static files collected.
from tests.webui.conftest import chromium, static_collected  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "gh-workbench-secret-5d1e"


def _integration_from_nothing(page) -> Integration:
    page.goto("/admin/integrations/integration/add/")
    page.fill("#id_name", "Workbench")
    add_variable = page.locator("#config_variables-group .add-row a")
    for row, (key, kind, default) in enumerate(
        [
            ("Signing Secret", "secret", ""),
            (
                "Sync Schedule",
                "schedule",
                '{"scheduleType": "minute", "value": "*/10 * * * *", "timeZone": "UTC"}',
            ),
        ]
    ):
        add_variable.click()
        page.fill(f"#id_config_variables-{row}-key", key)
        page.select_option(f"#id_config_variables-{row}-type", kind)
        page.fill(f"#id_config_variables-{row}-position", str(row))
        if default:
            page.fill(f"#id_config_variables-{row}-default", default)
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    return Integration.objects.get(name="Workbench")


def _step_add(page, index: int, name: str, action: str, field: str, value: str) -> None:
    """One step through the step editor: its card, its action, one declared input."""
    page.locator("#steps-group .add-row a").click()
    card = page.locator("#steps-group .tf-step:not(.empty-form)").nth(index)
    card.locator("input[name$='-name']").fill(name)
    card.locator("select[name$='-action']").select_option(action)
    card.locator(f"[data-input={field}]").locator("input, textarea").first.fill(value)


def _preview_text(page) -> str:
    return page.locator("[data-schedule-preview]").inner_text()


def test_build_deploy_call_and_see_the_run(
    chromium,  # noqa: F811 - the imported fixture
    static_collected,  # noqa: F811
    start_live_server,
    celery_worker_process,
    celery_session_queue,
    customer_a,
    staff_user,
):
    from playwright.sync_api import expect  # a test extra, present once chromium runs

    server = start_live_server(workers=2, env={"CELERY_TASK_DEFAULT_QUEUE": celery_session_queue})
    page = staff_page(chromium, server.url, width=1280)
    integration = _integration_from_nothing(page)

    # The webhook flow: GitHub's signature scheme, the secret from a config variable.
    page.goto(f"/admin/integrations/flow/add/?integration={integration.pk}")
    page.fill("#id_name", "Push")
    page.select_option("#id_trigger_type", "hmac_webhook")
    expect(page.locator("[data-kind-description]")).to_contain_text("signed with the shared")
    expect(page.locator("fieldset.tf-schedule")).to_be_hidden()
    page.select_option("#id_hmac_preset", "github")
    expect(page.locator(".form-row.field-hmac_header")).to_be_hidden()
    page.select_option("#id_hmac_secret_source", "configVar:Signing Secret")
    expect(page.locator(".form-row.field-hmac_secret")).to_be_hidden()
    page.fill("#id_response_status_code", "202")
    page.fill("#id_response_content_type", "application/json")
    page.locator("input[name=response_headers__name]").first.fill("x-acme")
    page.locator("input[name=response_headers__value]").first.fill("yes")
    page.get_by_role("button", name="Add a header").click()
    page.locator("input[name=response_headers__name]").nth(1).fill("x-team")
    page.locator("input[name=response_headers__value]").nth(1).fill("deploy")
    page.fill("#id_response_body", '{"accepted": true}')
    _step_add(page, 0, "Reply", "flow.return", "data", "{{ trigger.body.data }}")
    page_fits(page)
    admin_screenshot(page, "admin-flow-webhook-1280")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    push = Flow.objects.get(integration=integration, name="Push")
    assert push.hmac == {"preset": "github", "secret": "{{ configVars['Signing Secret'] }}"}
    assert push.response_headers == {"x-acme": "yes", "x-team": "deploy"}
    assert list(push.steps.values_list("name", "action", "inputs")) == [
        ("Reply", "flow.return", {"data": "{{ trigger.body.data }}"})
    ]

    # The schedule flow: the preview follows the cron as it is typed, then the variable.
    page.goto(f"/admin/integrations/flow/add/?integration={integration.pk}")
    page.fill("#id_name", "Sync")
    page.select_option("#id_trigger_type", "schedule")
    expect(page.locator("fieldset.tf-hmac")).to_be_hidden()
    expect(page.locator("fieldset.tf-response")).to_be_hidden()
    page.select_option("#id_schedule_form", "cron")
    page.select_option("#id_schedule_time_zone", "America/Chicago")
    page.locator("#id_schedule_cron").press_sequentially("0 9 * * 1-5", delay=20)
    expect(page.locator("[data-preview-runs] li")).to_have_count(5)
    expect(page.locator("[data-preview-runs]")).to_contain_text("09:00 C")
    page.locator("#id_schedule_cron").fill("61 9 * * *")
    expect(page.locator("[data-preview-error]")).to_contain_text("not valid")
    page.select_option("#id_schedule_form", "configVar")
    page.select_option("#id_schedule_config_var", "Sync Schedule")
    expect(page.locator("[data-preview-note]")).to_contain_text("default")
    expect(page.locator("[data-preview-runs] li")).to_have_count(5)
    assert "every 10 minutes" in _preview_text(page).lower()
    page.check("#id_singleton")
    _step_add(page, 0, "Note", "log.write", "message", "Synced")
    page_fits(page)
    admin_screenshot(page, "admin-flow-schedule-1280")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    sync = Flow.objects.get(integration=integration, name="Sync")
    assert (sync.schedule, sync.singleton) == ({"configVar": "Sync Schedule"}, True)

    # A polling kind shows its inputs and polling settings, and no webhook settings.
    page.goto(f"/admin/integrations/flow/add/?integration={integration.pk}")
    page.select_option("#id_trigger_type", "http.poll")
    expect(page.locator("fieldset.tf-polling")).to_be_visible()
    expect(
        page.locator("[data-inputs-for='http.poll'] input[name$='__itemIdPath']")
    ).to_be_visible()
    expect(page.locator("fieldset.tf-response")).to_be_hidden()
    expect(page.locator(".form-row.field-endpoint_security")).to_be_hidden()
    expect(page.locator("#id_schedule_form option[value=none]")).to_be_disabled()
    page_fits(page)
    admin_screenshot(page, "admin-flow-polling-1280")

    # The same editor on a phone.
    small = staff_page(
        chromium,
        server.url,
        width=390,
        height=844,
        next_url=f"/admin/integrations/flow/{push.pk}/change/",
    )
    small.wait_for_selector("#id_trigger_type")
    page_fits(small)
    admin_screenshot(small, "admin-flow-webhook-390")
    small.goto(f"/admin/integrations/flow/{sync.pk}/change/")
    expect(small.locator("[data-preview-runs] li")).to_have_count(5)
    page_fits(small)
    admin_screenshot(small, "admin-flow-schedule-390")
    small.context.close()

    # Deploy it to a customer from the admin.
    page.goto("/admin/instances/instance/add/")
    page.select_option("#id_integration", str(integration.pk))
    page.select_option("#id_customer", str(customer_a.pk))
    page.fill("#id_name", "Acme workbench")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    instance = Instance.objects.get(name="Acme workbench")
    page.locator("#config input[type=password]").first.fill(SECRET)
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    page.click("button.tf-deploy")
    expect(page.locator(".messagelist .success")).to_contain_text("eployed")
    instance.refresh_from_db()
    assert instance.is_deployed

    # The integration's page and the endpoints list (with the new endpoints) fit both widths.
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 844})
        for name, url in [
            ("integration", f"/admin/integrations/integration/{integration.pk}/change/"),
            ("endpoints", "/admin/triggers/endpoint/"),
        ]:
            page.goto(url)
            page_fits(page)
            admin_screenshot(page, f"admin-{name}-{width}")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)  # Push; Sync has no URL
    page.set_viewport_size({"width": 1280, "height": 900})

    # Called as GitHub calls it: the custom async response comes back.
    endpoint = Endpoint.objects.get(instance=instance, flow_name="Push")
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    answer = httpx.post(
        f"{server.url}/trigger/{endpoint.token}",
        content=body,
        headers={"content-type": "application/json", "x-hub-signature-256": signature},
    )
    assert (answer.status_code, answer.json()) == (202, {"accepted": True})
    assert (answer.headers["x-acme"], answer.headers["x-team"]) == ("yes", "deploy")
    forged = httpx.post(
        f"{server.url}/trigger/{endpoint.token}",
        content=body,
        headers={"content-type": "application/json", "x-hub-signature-256": "sha256=00"},
    )
    assert forged.status_code == 401  # recorded as a failed run, no step run

    # The run, with its step, in the admin.
    execution = Execution.objects.filter(instance=instance, flow=push).earliest("created_at")
    page.goto("/admin/executions/execution/")
    page.get_by_role("link", name=str(execution.pk)[:8]).first.click()
    expect(page.locator("body")).to_contain_text("Reply")
    expect(page.locator("body")).to_contain_text("succeeded")
    expect(page.locator("body")).to_contain_text("refs/heads/main")  # the step's result
    page_fits(page)
    admin_screenshot(page, "admin-workbench-execution-1280")
