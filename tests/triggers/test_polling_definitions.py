"""Polling triggers in definitions (SPEC §8): the import checks, each naming its field, and
the export round trip."""

from __future__ import annotations

from typing import Any

import pytest

# Registers pagedtest.orders for the tests below (imported for that side effect).
import tests.fixtures.polling_components  # noqa: F401
from integrations.definitions import definition_normalize, integration_export
from integrations.models import PollOnDeploy
from integrations.trigger_kinds import ScheduleUse, trigger_kind_get, trigger_kinds_all
from tests.fixtures.definitions import errors_of, with_trigger

PATH = "flows[0].trigger"


def poll_trigger(**fields: Any) -> dict[str, Any]:
    inputs = {"url": "http://127.0.0.1:9/orders", "itemIdPath": "id", **fields.pop("inputs", {})}
    return {
        "type": "http.poll",
        "schedule": {"every": 5, "unit": "minutes"},
        "inputs": inputs,
        **fields,
    }


def test_item_id_path_is_required_for_http_poll():
    trigger = poll_trigger()
    del trigger["inputs"]["itemIdPath"]
    assert errors_of(with_trigger(**trigger)) == {
        f"{PATH}.inputs.itemIdPath": "http.poll needs itemIdPath."
    }


def test_cursor_path_and_cursor_item_field_are_exclusive():
    trigger = poll_trigger(inputs={"cursorPath": "next", "cursorItemField": "updatedAt"})
    errors = errors_of(with_trigger(**trigger))
    assert list(errors) == [f"{PATH}.inputs.cursorItemField"]
    assert "not both" in errors[f"{PATH}.inputs.cursorItemField"]


@pytest.mark.parametrize("size", [0, 101, -1])
def test_batch_size_is_from_1_to_100(size):
    assert errors_of(with_trigger(**poll_trigger(batchSize=size))) == {
        f"{PATH}.batchSize": "batchSize must be from 1 to 100 (items per execution)."
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("synchronous", True),
        ("response", {"statusCode": 202}),
        ("endpointSecurity", "unsecured"),
        ("endpointSecurity", "customer_optional"),
        ("hmac", {"header": "x-sig", "algorithm": "sha256", "secret": "s"}),
    ],
)
def test_a_webhook_endpoint_setting_on_a_polling_trigger_is_refused(field, value):
    errors = errors_of(with_trigger(**poll_trigger(**{field: value})))
    assert list(errors) == [f"{PATH}.{field}"]
    assert "has no webhook endpoint" in errors[f"{PATH}.{field}"]


def test_a_polling_trigger_needs_a_schedule_of_any_form():
    trigger = poll_trigger()
    del trigger["schedule"]
    assert errors_of(with_trigger(**trigger)) == {
        f"{PATH}.schedule": "A polling trigger (http.poll) needs a schedule."
    }
    bad_cron = poll_trigger(schedule={"cron": "99 * * * *"})
    assert list(errors_of(with_trigger(**bad_cron))) == [f"{PATH}.schedule.cron"]
    unknown_variable = poll_trigger(schedule={"configVar": "Poll Every"})
    assert list(errors_of(with_trigger(**unknown_variable))) == [f"{PATH}.schedule.configVar"]


def test_unknown_inputs_and_settings_on_other_kinds_are_named():
    errors = errors_of(with_trigger(**poll_trigger(inputs={"itemPath": "x"})))
    assert list(errors) == [f"{PATH}.inputs.itemPath"]
    assert errors_of(with_trigger(type="webhook", batchSize=2, onDeploy="backfill")) == {
        f"{PATH}.batchSize": "Only polling triggers (such as http.poll) take batchSize.",
        f"{PATH}.onDeploy": "Only polling triggers (such as http.poll) take onDeploy.",
    }
    assert list(errors_of(with_trigger(**poll_trigger(onDeploy="later")))) == [f"{PATH}.onDeploy"]


def test_a_component_polling_trigger_checks_its_declared_inputs():
    trigger = {"type": "pagedtest.orders", "schedule": {"every": 1, "unit": "hours"}}
    assert errors_of(with_trigger(**trigger)) == {
        f"{PATH}.inputs.baseUrl": "pagedtest.orders needs baseUrl."
    }


FULL_DEFINITION: dict[str, Any] = {
    "name": "Order Sync",
    "configVariables": [
        {"key": "Base URL", "type": "string", "default": "http://127.0.0.1:9000"},
        {
            "key": "Poll Every",
            "type": "schedule",
            "default": {"scheduleType": "minute", "value": "*/5 * * * *", "timeZone": "UTC"},
        },
    ],
    "flows": [
        {
            "name": "New Orders",
            "trigger": {
                "type": "http.poll",
                "inputs": {
                    "url": "{{ configVars['Base URL'] }}/orders",
                    "headers": {"Authorization": "Bearer t"},
                    "queryParameters": {"since": "{{ poll.cursor }}"},
                    "itemsPath": "data.orders",
                    "itemIdPath": "id",
                    "cursorPath": "data.next",
                },
                "schedule": {"configVar": "Poll Every"},
                "batchSize": 10,
                "onDeploy": "backfill",
            },
            "steps": [
                {
                    "name": "Reply",
                    "action": "flow.return",
                    "inputs": {"data": "{{ trigger.body.data }}"},
                }
            ],
        },
        {
            "name": "Changes",
            "trigger": {
                "type": "pagedtest.orders",
                "inputs": {"baseUrl": "{{ configVars['Base URL'] }}"},
                "schedule": {"cron": "0 * * * *", "timeZone": "Europe/Berlin"},
            },
            "steps": [],
        },
    ],
}


def test_import_then_export_gives_the_same_definition(make_integration):
    integration = make_integration(FULL_DEFINITION)
    flow = integration.flows.get(name="New Orders")
    assert (flow.poll_batch_size, flow.poll_on_deploy) == (10, PollOnDeploy.BACKFILL)
    assert integration.flows.get(name="Changes").poll_on_deploy == PollOnDeploy.SKIP
    assert integration_export(integration=integration) == FULL_DEFINITION
    assert definition_normalize(definition=FULL_DEFINITION) == FULL_DEFINITION


def test_polling_triggers_are_kinds_for_the_trigger_editor():
    kind = trigger_kind_get("http.poll")
    assert kind is not None
    assert (kind.schedule, kind.webhook, kind.synchronous, kind.polling) == (
        ScheduleUse.REQUIRED,
        False,
        False,
        True,
    )
    assert [item.name for item in kind.inputs][:5] == [
        "url",
        "headers",
        "queryParameters",
        "itemsPath",
        "itemIdPath",
    ]
    kinds = {k.key: k for k in trigger_kinds_all()}
    assert kinds["http.poll"].group == "HTTP"
    assert kinds["pagedtest.orders"].group == "Paged test source"
