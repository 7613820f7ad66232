"""Importing definitions into rows, versioning, atomicity and the export round trip."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from integrations.definitions import (
    DefinitionError,
    definition_dump,
    definition_normalize,
    definition_parse,
    integration_export,
    integration_import,
)
from integrations.models import ConfigVariable, Flow, Integration, Step
from integrations.secrets import hmac_settings_open
from tests.fixtures import definition_components  # noqa: F401 - registers "deftest"

FIXTURES = Path(__file__).parent / "fixtures"

pytestmark = pytest.mark.django_db


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text()


def everything() -> dict[str, Any]:
    return definition_parse(text=fixture_text("everything.yaml"))


def row_counts() -> tuple[int, int, int, int]:
    return (
        Integration.objects.count(),
        ConfigVariable.objects.count(),
        Flow.objects.count(),
        Step.objects.count(),
    )


def test_import_maps_the_definition_onto_rows() -> None:
    integration = integration_import(definition=fixture_text("render_notifier.yaml"))

    assert (integration.name, integration.version) == ("Render Notifier", 1)
    assert integration.endpoint_type == "flow_specific"
    assert integration.rate_limit_per_second == 50
    assert integration.flow_name_field == ""
    variables = list(integration.config_variables.order_by("position"))
    assert [(v.key, v.type, v.required) for v in variables] == [
        ("Base URL", "string", False),
        ("Sync Schedule", "schedule", False),
        ("Signing Secret", "secret", True),
        ("Region", "picklist", False),
    ]
    assert variables[1].default == {
        "scheduleType": "minute",
        "value": "*/5 * * * *",
        "timeZone": "UTC",
    }
    assert variables[3].options == ["us", "eu"]

    render, signed, poll = integration.flows.order_by("position")
    assert render.trigger_type == "webhook"
    assert render.synchronous is False
    assert (render.response_status_code, render.response_content_type) == (202, "application/json")
    assert render.response_headers == {"x-acme": "yes"}
    assert render.response_body == '{"accepted": true}'
    assert render.endpoint_security == "customer_optional"
    assert render.sync_timeout_seconds == 29
    assert (render.retry_max_attempts, render.retry_delay_seconds) == (0, 60)
    assert [(s.position, s.name, s.action) for s in render.steps.order_by("position")] == [
        (0, "Fetch Render", "http.request"),
        (1, "Reply", "flow.return"),
    ]
    assert render.steps.get(name="Fetch Render").inputs["method"] == "GET"
    # Stored with its defaults filled in, so signature checks read one shape.
    assert signed.hmac == {
        "header": "x-hmac-sha256",
        "algorithm": "sha256",
        "secret": "{{ configVars['Signing Secret'] }}",
        "encoding": "hex",
        "prefix": "",
    }
    assert signed.response_status_code is None
    assert poll.schedule == {"configVar": "Sync Schedule"}
    assert poll.singleton is True


def test_response_without_status_code_means_200() -> None:
    definition = {
        "name": "Plain Response",
        "flows": [{"name": "F", "trigger": {"type": "webhook", "response": {"body": "ok"}}}],
    }
    flow = integration_import(definition=definition).flows.get()
    assert (flow.response_status_code, flow.response_body) == (200, "ok")
    assert flow.has_custom_response


def test_stored_schedule_and_preset_shapes() -> None:
    integration = integration_import(definition=everything())
    flows = {flow.name: flow for flow in integration.flows.all()}
    assert flows["Component Poll"].schedule == {"cron": "0 * * * *", "timeZone": "UTC"}
    assert flows["Component Poll"].trigger_inputs == {"since": "{{ configVars['Sync Schedule'] }}"}
    assert flows["Every Five"].schedule == {"every": 5, "unit": "minutes"}
    # Literal signing secrets are stored sealed (tests/instances/test_secrets_at_rest.py).
    assert hmac_settings_open(flows["Stripe"].hmac, flow_id=flows["Stripe"].pk) == {
        "preset": "stripe",
        "secret": "whsec_test",
        "toleranceSeconds": 600,
    }
    assert flows["Stripe"].hmac["secret"] != "whsec_test"
    assert hmac_settings_open(flows["GitHub"].hmac, flow_id=flows["GitHub"].pk) == {
        "preset": "github",
        "secret": "gh-secret",
    }
    assert flows["Orders"].queue_type == "throttled"
    assert flows["Orders"].queue_concurrency_limit == 3
    assert flows["Orders"].queue_dedupe_id_field == "body.data.orderId"
    assert flows["Orders"].retry_exponential_backoff is True
    assert flows["Signed Generic"].queue_type == "sequential"
    assert flows["On Deploy"].trigger_type == "instance_deploy"
    assert integration.external_customer_id_field == "body.data.account"


def test_importing_a_name_again_creates_the_next_version() -> None:
    first = integration_import(definition=fixture_text("render_notifier.yaml"))
    second = integration_import(definition=fixture_text("render_notifier.yaml"))
    other = integration_import(definition=everything())

    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert first.id != second.id
    # The earlier version keeps its own rows.
    assert first.flows.count() == second.flows.count() == 3
    assert Integration.objects.filter(name="Render Notifier").count() == 2


def test_version_follows_the_highest_existing_one() -> None:
    Integration.objects.create(name="Render Notifier", version=7)
    assert integration_import(definition=fixture_text("render_notifier.yaml")).version == 8


def test_invalid_definition_stores_nothing() -> None:
    integration_import(definition=fixture_text("render_notifier.yaml"))
    before = row_counts()
    with pytest.raises(DefinitionError) as caught:
        integration_import(definition=fixture_text("broken.yaml"))
    assert set(caught.value.errors) == {
        "flows[0].trigger.schedule.cron",
        "flows[0].steps[0].action",
    }
    assert row_counts() == before


def test_failure_while_saving_rolls_back_every_row(monkeypatch: pytest.MonkeyPatch) -> None:
    # Validation prevents every failure it knows of; this stands in for one it does not
    # (a lost connection, a constraint added later) after the integration and flows are
    # written, to show the transaction leaves nothing behind.
    def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(Step.objects, "bulk_create", fail)
    with pytest.raises(RuntimeError):
        integration_import(definition=fixture_text("render_notifier.yaml"))
    assert row_counts() == (0, 0, 0, 0)


def test_import_accepts_json_text_and_bytes() -> None:
    definition = {"name": "From JSON", "flows": [{"name": "F", "trigger": {"type": "webhook"}}]}
    text = json.dumps(definition)
    assert integration_import(definition=text, content_type="application/json").version == 1
    assert integration_import(definition=text.encode()).version == 2  # YAML reads JSON too


def test_import_syntax_error_is_a_definition_error() -> None:
    with pytest.raises(DefinitionError) as caught:
        integration_import(definition="name: [", content_type="application/yaml")
    assert list(caught.value.errors) == ["definition"]
    assert row_counts() == (0, 0, 0, 0)


def test_round_trip_gives_back_the_normalized_definition() -> None:
    written = everything()
    expected = copy.deepcopy(written)
    # With its secrets: the whole definition comes back (without: see test_secrets_at_rest).
    normalized = definition_normalize(definition=written, include_secrets=True)

    exported = integration_export(
        integration=integration_import(definition=written), include_secrets=True
    )

    assert exported == normalized == expected
    # And the export imports to an identical export.
    again = integration_import(definition=exported)
    assert again.version == 2
    assert integration_export(integration=again, include_secrets=True) == exported


def test_round_trip_drops_defaults_and_fills_stored_shapes() -> None:
    written = everything()
    flows = {flow["name"]: flow for flow in written["flows"]}
    # Written with defaults spelled out or left to fill in:
    flows["Component Poll"]["trigger"]["schedule"] = {"cron": "0 * * * *"}
    flows["Component Hook"]["trigger"]["response"] = {}
    flows["On Remove"]["trigger"]["endpointSecurity"] = "customer_optional"
    flows["On Remove"]["queue"] = {"type": "parallel"}
    flows["On Remove"]["retry"] = {
        "maxAttempts": 0,
        "delaySeconds": 60,
        "exponentialBackoff": False,
    }
    flows["Stripe"]["trigger"]["hmac"]["toleranceSeconds"] = 300
    flows["Signed Generic"]["trigger"]["hmac"]["prefix"] = ""
    written["configVariables"][5]["default"].pop("timeZone")

    exported = integration_export(
        integration=integration_import(definition=written), include_secrets=True
    )

    exported_flows = {flow["name"]: flow for flow in exported["flows"]}
    assert exported_flows["Component Poll"]["trigger"]["schedule"] == {
        "cron": "0 * * * *",
        "timeZone": "UTC",
    }
    assert exported_flows["Component Hook"]["trigger"]["response"] == {"statusCode": 200}
    assert exported_flows["On Remove"] == {
        "name": "On Remove",
        "trigger": {"type": "instance_remove"},
        "steps": [],
    }
    assert exported_flows["Stripe"]["trigger"]["hmac"] == {
        "preset": "stripe",
        "secret": "whsec_test",
    }
    assert "prefix" not in exported_flows["Signed Generic"]["trigger"]["hmac"]
    assert exported["configVariables"][5]["default"]["timeZone"] == "UTC"
    assert exported == definition_normalize(definition=written, include_secrets=True)


def test_export_keeps_flow_and_step_order() -> None:
    exported = integration_export(integration=integration_import(definition=everything()))
    assert [flow["name"] for flow in exported["flows"]] == [
        flow["name"] for flow in everything()["flows"]
    ]
    assert [step["name"] for step in exported["flows"][0]["steps"]] == [
        "Fetch",
        "Split",
        "Log",
        "Nap",
        "Answer",
        "Stop",
        "Fail",
    ]


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_dumped_text_parses_back_to_the_same_definition(fmt: str) -> None:
    exported = integration_export(integration=integration_import(definition=everything()))
    text = definition_dump(exported, fmt=fmt)
    parsed = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    assert parsed == exported
    assert text.startswith('{\n  "name": "Everything"' if fmt == "json" else "name: Everything\n")
