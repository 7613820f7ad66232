"""The admin's trigger editor, through the Django test client: each form posts back what
the page offers (tests/fixtures/html_forms.py), changes a few fields as a user would, and
the stored flow — or the error on the right field — is checked."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integrations.models import ConfigVariable, Flow
from integrations.secrets import hmac_settings_open, secret_looks_sealed
from tests.fixtures.html_forms import form_fields

pytestmark = pytest.mark.django_db

SECRET = "whsec-editor-9f3b"

EDITOR = {
    "name": "Editor",
    "configVariables": [
        {"key": "Signing Secret", "type": "secret", "default": "from-the-variable"},
        {
            "key": "Sync Schedule",
            "type": "schedule",
            "default": {"scheduleType": "day", "value": "30 7 * * *", "timeZone": "Europe/Paris"},
        },
        {"key": "Slack Secret", "type": "secret"},
    ],
    "flows": [
        {
            "name": "Tick",
            "trigger": {"type": "schedule", "schedule": {"cron": "*/5 * * * *"}},
            "singleton": True,
            "steps": [{"name": "R", "action": "flow.return"}],
        },
        {
            "name": "Signed",
            "trigger": {
                "type": "hmac_webhook",
                "hmac": {"header": "x-sig", "algorithm": "sha256", "secret": SECRET},
                "response": {"statusCode": 202, "headers": {"x-one": "1"}, "body": "ok"},
            },
            "steps": [{"name": "R", "action": "flow.return"}],
        },
        {
            "name": "Orders",
            "trigger": {
                "type": "http.poll",
                "schedule": {"every": 5, "unit": "minutes"},
                "inputs": {"url": "http://127.0.0.1:9/orders", "itemIdPath": "id"},
                "batchSize": 10,
                "onDeploy": "backfill",
            },
            "steps": [{"name": "R", "action": "flow.return"}],
        },
        {
            "name": "Slack",
            "trigger": {
                "type": "slack.events",
                "inputs": {"signingSecret": "{{ configVars['Slack Secret'] }}"},
            },
            "steps": [{"name": "R", "action": "flow.return"}],
        },
    ],
}


@pytest.fixture
def editor(make_integration):
    return make_integration(EDITOR)


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client


def _page(client, flow: Flow):
    url = reverse("admin:integrations_flow_change", args=[flow.pk])
    response = client.get(url)
    assert response.status_code == 200
    return url, response


def _post(client, flow: Flow, **changes):
    url, page = _page(client, flow)
    data = form_fields(page.content, "flow_form")
    data.update(changes)
    return client.post(url, data)


def _errors(response, field: str) -> str:
    assert response.status_code == 200, response.status_code
    errors = response.context["adminform"].form.errors
    assert field in errors, dict(errors)
    return " ".join(errors[field])


def test_the_kind_picker_lists_every_kind_with_its_description(staff, editor):
    _, page = _page(staff, editor.flows.get(name="Tick"))
    html = page.content.decode()
    for kind in ("webhook", "hmac_webhook", "schedule", "instance_deploy", "instance_remove"):
        assert f'value="{kind}"' in html
    assert 'value="slack.events"' in html
    assert 'data-schedule="required"' in html  # the schedule kind says what it takes
    assert "Starts the flow by the clock" in html  # the chosen kind's description


@pytest.mark.parametrize("name", ["Tick", "Signed", "Slack", "Orders"])
def test_posting_the_page_back_unchanged_keeps_the_flow(staff, editor, name):
    flow = editor.flows.get(name=name)
    before = Flow.objects.values().get(pk=flow.pk)
    response = _post(staff, flow)
    assert response.status_code == 302, response.context["adminform"].form.errors
    after = Flow.objects.values().get(pk=flow.pk)
    assert after == before


def test_a_bad_cron_is_an_error_on_the_cron_field(staff, editor):
    flow = editor.flows.get(name="Tick")
    response = _post(staff, flow, schedule_cron="61 * * * *")
    assert "trigger.schedule.cron" in _errors(response, "schedule_cron")
    flow.refresh_from_db()
    assert flow.schedule == {"cron": "*/5 * * * *", "timeZone": "UTC"}


def test_an_unknown_zone_is_refused(staff, editor):
    response = _post(staff, editor.flows.get(name="Tick"), schedule_time_zone="Mars/Olympus")
    assert "valid choice" in _errors(response, "schedule_time_zone")


def test_a_cron_in_a_zone_is_saved(staff, editor):
    flow = editor.flows.get(name="Tick")
    response = _post(staff, flow, schedule_cron="0 9 * * 1-5", schedule_time_zone="Europe/Berlin")
    assert response.status_code == 302
    flow.refresh_from_db()
    assert flow.schedule == {"cron": "0 9 * * 1-5", "timeZone": "Europe/Berlin"}


def test_an_interval_and_its_missing_count(staff, editor):
    flow = editor.flows.get(name="Tick")
    saved = _post(staff, flow, schedule_form="interval", schedule_every="15", schedule_unit="hours")
    assert saved.status_code == 302
    flow.refresh_from_db()
    assert flow.schedule == {"every": 15, "unit": "hours"}
    missing = _post(staff, flow, schedule_form="interval", schedule_every="")
    assert "trigger.schedule" in _errors(missing, "schedule_every")


def test_a_schedule_config_variable(staff, editor):
    flow = editor.flows.get(name="Tick")
    response = _post(staff, flow, schedule_form="configVar", schedule_config_var="Sync Schedule")
    assert response.status_code == 302
    flow.refresh_from_db()
    assert flow.schedule == {"configVar": "Sync Schedule"}
    # Only the integration's schedule variables are offered.
    refused = _post(staff, flow, schedule_form="configVar", schedule_config_var="Signing Secret")
    assert "valid choice" in _errors(refused, "schedule_config_var")
    unset = _post(staff, flow, schedule_form="configVar", schedule_config_var="")
    assert "configVar" in _errors(unset, "schedule_config_var")


def test_a_schedule_kind_needs_a_schedule(staff, editor):
    response = _post(staff, editor.flows.get(name="Tick"), schedule_form="none")
    assert "needs a schedule" in _errors(response, "schedule_form")


def test_a_preset_with_the_secret_from_a_config_variable(staff, editor):
    flow = editor.flows.get(name="Signed")
    response = _post(
        staff,
        flow,
        hmac_preset="stripe",
        hmac_secret_source="configVar:Signing Secret",
        hmac_tolerance_seconds="120",
    )
    assert response.status_code == 302
    flow.refresh_from_db()
    assert flow.hmac == {
        "preset": "stripe",
        "secret": "{{ configVars['Signing Secret'] }}",
        "toleranceSeconds": 120,
    }
    # Shown again as the same choices.
    fields = form_fields(_page(staff, flow)[1].content, "flow_form")
    assert fields["hmac_preset"] == "stripe"
    assert fields["hmac_secret_source"] == "configVar:Signing Secret"


def test_a_tolerance_on_a_preset_without_a_timestamp_is_refused(staff, editor):
    response = _post(
        staff, editor.flows.get(name="Signed"), hmac_preset="github", hmac_tolerance_seconds="60"
    )
    # The field is hidden for github; what is posted anyway is ignored, not stored.
    assert response.status_code == 302
    flow = Flow.objects.get(name="Signed")
    assert "toleranceSeconds" not in flow.hmac


def test_a_literal_secret_is_never_shown_and_blank_keeps_it(staff, editor):
    flow = editor.flows.get(name="Signed")
    _, page = _page(staff, flow)
    assert SECRET.encode() not in page.content
    assert "blank keeps it" in page.content.decode()
    kept = _post(staff, flow, hmac_header="x-signature", hmac_secret="")
    assert kept.status_code == 302
    flow.refresh_from_db()
    assert flow.hmac["header"] == "x-signature"
    assert secret_looks_sealed(flow.hmac["secret"])
    assert hmac_settings_open(flow.hmac, flow_id=flow.pk)["secret"] == SECRET
    replaced = _post(staff, flow, hmac_secret="a-new-secret-value")
    assert replaced.status_code == 302
    flow.refresh_from_db()
    assert b"a-new-secret-value" not in _page(staff, flow)[1].content
    assert hmac_settings_open(flow.hmac, flow_id=flow.pk)["secret"] == "a-new-secret-value"


def test_a_generic_header_without_a_name_is_an_error_on_the_header(staff, editor):
    response = _post(staff, editor.flows.get(name="Signed"), hmac_header="")
    assert "trigger.hmac.header" in _errors(response, "hmac_header")


def test_switching_kind_clears_what_the_new_kind_does_not_take(staff, editor):
    signed = editor.flows.get(name="Signed")
    assert _post(staff, signed, trigger_type="webhook").status_code == 302
    signed.refresh_from_db()
    assert signed.hmac is None
    assert signed.response_status_code == 202  # a webhook still answers with it
    tick = editor.flows.get(name="Tick")
    assert _post(staff, tick, trigger_type="instance_deploy").status_code == 302
    tick.refresh_from_db()
    assert (tick.schedule, tick.singleton, tick.trigger_type) == (None, False, "instance_deploy")


def test_response_headers_are_rows(staff, editor):
    flow = editor.flows.get(name="Signed")
    response = _post(
        staff,
        flow,
        response_headers__name=["x-one", "Content-Language", ""],
        response_headers__value=["1", "en", ""],
    )
    assert response.status_code == 302
    flow.refresh_from_db()
    assert flow.response_headers == {"x-one": "1", "Content-Language": "en"}


@pytest.mark.parametrize(
    ("names", "values", "words"),
    [
        (["x-a", "X-A"], ["1", "2"], "given twice"),
        (["", "x-b"], ["orphan", "2"], "has no name"),
        (["x-c"], ["line\r\nbreak"], "line break"),
        (["x-d\x00"], ["1"], "NUL"),
    ],
)
def test_bad_header_rows_are_errors_not_500s(staff, editor, names, values, words):
    response = _post(
        staff,
        editor.flows.get(name="Signed"),
        response_headers__name=names,
        response_headers__value=values,
    )
    assert words in _errors(response, "response_headers")


def test_a_component_trigger_takes_its_declared_inputs(staff, editor):
    flow = editor.flows.get(name="Slack")
    _, page = _page(staff, flow)
    assert "signingSecret" in page.content.decode()
    response = _post(
        staff, flow, **{"trigger_inputs__slack.events__signingSecret": "{{ configVars['X'] }}"}
    )
    assert response.status_code == 302
    flow.refresh_from_db()
    assert flow.trigger_inputs == {"signingSecret": "{{ configVars['X'] }}"}
    nul = _post(staff, flow, **{"trigger_inputs__slack.events__signingSecret": "a\x00b"})
    assert "NUL" in _errors(nul, "trigger_inputs")


def test_a_synchronous_sequential_flow_is_refused_on_the_queue_field(staff, editor):
    response = _post(
        staff, editor.flows.get(name="Signed"), synchronous="on", queue_type="sequential"
    )
    assert "trigger.synchronous" in _errors(response, "queue_type")


def test_the_preview_answers_for_cron_interval_and_config_variable(staff, editor):
    url = reverse("admin:integrations_flow_schedule_preview")
    cron = staff.get(url, {"form": "cron", "cron": "0 9 * * 1-5", "timeZone": "America/Chicago"})
    body = cron.json()
    assert body["ok"] and len(body["nextRuns"]) == 5
    assert all(run["display"].endswith(("CST", "CDT")) for run in body["nextRuns"])
    bad = staff.get(url, {"form": "cron", "cron": "61 * * * *", "timeZone": "UTC"}).json()
    assert not bad["ok"] and "cron" in bad["errors"]
    interval = staff.get(url, {"form": "interval", "every": "2", "unit": "hours"}).json()
    assert interval["description"] and len(interval["nextRuns"]) == 5
    variable = staff.get(
        url, {"form": "configVar", "configVar": "Sync Schedule", "integration": str(editor.pk)}
    ).json()
    assert variable["ok"] and "default" in variable["note"]
    assert variable["nextRuns"][0]["display"].endswith(("CET", "CEST"))
    unknown = staff.get(url, {"form": "configVar", "configVar": "Nope", "integration": "x"}).json()
    assert not unknown["ok"] and "configVar" in unknown["errors"]


def test_customer_users_are_refused(client, user_a, editor):
    client.force_login(user_a)
    flow = editor.flows.get(name="Tick")
    assert client.get(reverse("admin:integrations_flow_change", args=[flow.pk])).status_code == 302
    preview = client.get(reverse("admin:integrations_flow_schedule_preview"), {"form": "cron"})
    assert preview.status_code == 302  # to the admin's login, never the JSON


def test_the_flow_page_queries_do_not_grow_with_config_variables(staff, editor):
    flow = editor.flows.get(name="Tick")
    url = reverse("admin:integrations_flow_change", args=[flow.pk])
    with CaptureQueriesContext(connection) as few:
        assert staff.get(url).status_code == 200
    for number in range(12):
        ConfigVariable.objects.create(
            integration=editor, key=f"Extra {number}", type="schedule", position=10 + number
        )
    with CaptureQueriesContext(connection) as many:
        assert staff.get(url).status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_polling_flow_takes_its_inputs_batch_size_and_first_poll(staff, editor):
    flow = editor.flows.get(name="Orders")
    _, page = _page(staff, flow)
    assert 'data-polling="1"' in page.content.decode()
    response = _post(
        staff,
        flow,
        poll_batch_size="3",
        poll_on_deploy="skip",
        **{"trigger_inputs__http.poll__cursorItemField": "updatedAt"},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    flow.refresh_from_db()
    assert (flow.poll_batch_size, flow.poll_on_deploy) == (3, "skip")
    assert flow.trigger_inputs["cursorItemField"] == "updatedAt"
    too_many = _post(staff, flow, poll_batch_size="500")
    assert "trigger.batchSize" in _errors(too_many, "poll_batch_size")
    no_id = _post(staff, flow, **{"trigger_inputs__http.poll__itemIdPath": ""})
    assert "itemIdPath" in _errors(no_id, "trigger_inputs")


def test_a_polling_flow_switched_to_a_webhook_drops_its_polling_settings(staff, editor):
    flow = editor.flows.get(name="Orders")
    assert _post(staff, flow, trigger_type="webhook").status_code == 302
    flow.refresh_from_db()
    assert (flow.schedule, flow.trigger_inputs) == (None, {})
    assert (flow.poll_batch_size, flow.poll_on_deploy) == (1, "skip")
