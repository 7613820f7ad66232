"""Definition validation: each rule answers with the exact path of the fault."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from integrations.definitions import (
    DefinitionError,
    definition_normalize,
    definition_parse,
    definition_validate,
)
from tests.integrations.fixtures import deftest_component  # noqa: F401 - registers "deftest"

BUILTIN_ACTIONS = [
    "http.request",
    "text.split",
    "flow.return",
    "flow.stop_execution",
    "flow.fail",
    "flow.sleep",
    "log.write",
]


def minimal(**top: Any) -> dict[str, Any]:
    definition = {
        "name": "Minimal",
        "flows": [
            {
                "name": "Hook",
                "trigger": {"type": "webhook"},
                "steps": [{"name": "Log", "action": "log.write", "inputs": {"message": "hi"}}],
            }
        ],
    }
    definition.update(top)
    return definition


def flow(trigger: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    return {"name": "F", "trigger": trigger or {"type": "webhook"}, "steps": [], **fields}


def errors_of(definition: Any) -> dict[str, str]:
    with pytest.raises(DefinitionError) as caught:
        definition_validate(definition=definition)
    return caught.value.errors


def with_flow(**fields: Any) -> dict[str, Any]:
    return minimal(flows=[flow(**fields)])


def with_trigger(**trigger: Any) -> dict[str, Any]:
    return minimal(flows=[flow(trigger)])


def test_minimal_definition_is_valid() -> None:
    spec = definition_validate(definition=minimal())
    assert spec.name == "Minimal"
    assert spec.flows[0].trigger.endpoint_security == "customer_optional"


def test_every_builtin_action_is_known() -> None:
    steps = [{"name": key, "action": key} for key in BUILTIN_ACTIONS]
    definition_validate(definition=with_flow(steps=steps))


def test_unknown_top_level_key_is_named_with_the_allowed_keys() -> None:
    errors = errors_of(minimal(descripton="typo"))
    assert list(errors) == ["descripton"]
    assert "Unknown key" in errors["descripton"]
    assert "description" in errors["descripton"]


def test_unknown_nested_key_is_named_by_its_full_path() -> None:
    errors = errors_of(with_trigger(type="schedule", schedule={"every": 1, "unit": "hours"}, x=1))
    assert list(errors) == ["flows[0].trigger.x"]


def test_snake_case_spelling_of_a_key_is_unknown() -> None:
    errors = errors_of(minimal(rate_limit_per_second=5))
    assert list(errors) == ["rate_limit_per_second"]


def test_missing_name_and_empty_flows_are_reported_together() -> None:
    errors = errors_of({"flows": []})
    assert set(errors) == {"name", "flows"}


def test_a_definition_must_be_a_mapping() -> None:
    assert errors_of(["not", "a", "mapping"]) == {
        "definition": "A definition must be a mapping (name, flows, ...)."
    }


def test_unknown_action_names_the_step() -> None:
    steps = [{"name": "Ok", "action": "log.write"}, {"name": "Bad", "action": "http.requets"}]
    errors = errors_of(with_flow(steps=steps))
    assert list(errors) == ["flows[0].steps[1].action"]
    assert "'http.requets'" in errors["flows[0].steps[1].action"]


def test_registered_component_action_is_known() -> None:
    definition_validate(definition=with_flow(steps=[{"name": "E", "action": "deftest.echo"}]))


def test_unknown_trigger_type_is_reported() -> None:
    assert list(errors_of(with_trigger(type="webhok"))) == ["flows[0].trigger.type"]
    assert list(errors_of(with_trigger(type="deftest.nope"))) == ["flows[0].trigger.type"]


def test_schedule_on_a_webhook_only_component_trigger_is_rejected() -> None:
    errors = errors_of(with_trigger(type="deftest.hook", schedule={"every": 5, "unit": "minutes"}))
    assert list(errors) == ["flows[0].trigger.schedule"]
    assert "webhook-only" in errors["flows[0].trigger.schedule"]


def test_schedule_capable_component_trigger_takes_a_schedule_and_needs_one() -> None:
    definition_validate(
        definition=with_trigger(type="deftest.poll", schedule={"every": 1, "unit": "hours"})
    )
    assert list(errors_of(with_trigger(type="deftest.poll"))) == ["flows[0].trigger.schedule"]


def test_schedule_trigger_needs_a_schedule() -> None:
    assert list(errors_of(with_trigger(type="schedule"))) == ["flows[0].trigger.schedule"]


def test_webhook_trigger_takes_no_schedule() -> None:
    errors = errors_of(with_trigger(type="webhook", schedule={"every": 5, "unit": "minutes"}))
    assert list(errors) == ["flows[0].trigger.schedule"]


@pytest.mark.parametrize(
    ("schedule", "path"),
    [
        ({"cron": "*/5 8-16 * *", "timeZone": "UTC"}, "flows[0].trigger.schedule.cron"),
        ({"cron": "61 * * * *"}, "flows[0].trigger.schedule.cron"),
        ({"cron": "0 0 31 2 *"}, "flows[0].trigger.schedule.cron"),
        ({"cron": "* * * * * *"}, "flows[0].trigger.schedule.cron"),
        ({"cron": "0 9 * * *", "timeZone": "America/Chicgo"}, "flows[0].trigger.schedule.timeZone"),
        ({"every": 0, "unit": "minutes"}, "flows[0].trigger.schedule.every"),
        ({"every": 5, "unit": "seconds"}, "flows[0].trigger.schedule.unit"),
        ({"every": 5}, "flows[0].trigger.schedule.unit"),
        ({"every": 5, "unit": "days", "timeZone": "UTC"}, "flows[0].trigger.schedule.timeZone"),
        ({"at": "noon"}, "flows[0].trigger.schedule"),
        ({"scheduleType": "day", "value": "0 9 * * *"}, "flows[0].trigger.schedule.scheduleType"),
    ],
)
def test_bad_schedule_names_the_field(schedule: dict[str, Any], path: str) -> None:
    assert list(errors_of(with_trigger(type="schedule", schedule=schedule))) == [path]


def test_good_schedule_forms_are_accepted() -> None:
    for schedule in (
        {"every": 2, "unit": "weeks"},
        {"cron": "*/5 8-16 * * 1-5", "timeZone": "America/Chicago"},
        {"cron": "0 9 * * *"},
    ):
        definition_validate(definition=with_trigger(type="schedule", schedule=schedule))


def test_schedule_config_var_must_name_a_schedule_variable() -> None:
    variables = [
        {"key": "Sync", "type": "schedule"},
        {"key": "Text", "type": "string"},
    ]
    good = minimal(
        configVariables=variables,
        flows=[flow({"type": "schedule", "schedule": {"configVar": "Sync"}})],
    )
    definition_validate(definition=good)
    for key in ("Text", "Missing"):
        bad = copy.deepcopy(good)
        bad["flows"][0]["trigger"]["schedule"]["configVar"] = key
        assert list(errors_of(bad)) == ["flows[0].trigger.schedule.configVar"]


def test_instance_specific_with_two_webhook_flows_needs_a_flow_name_field() -> None:
    flows = [flow(name="A"), flow(name="B")]
    errors = errors_of(minimal(endpointType="instance_specific", flows=flows))
    assert list(errors) == ["routing.flowNameField"]
    definition_validate(
        definition=minimal(
            endpointType="instance_specific",
            routing={"flowNameField": "headers.x-flow"},
            flows=flows,
        )
    )


def test_instance_specific_with_one_webhook_flow_needs_no_routing() -> None:
    flows = [
        flow(name="A"),
        flow({"type": "schedule", "schedule": {"every": 1, "unit": "days"}}, name="Nightly"),
        flow({"type": "instance_deploy"}, name="Deploy"),
    ]
    definition_validate(definition=minimal(endpointType="instance_specific", flows=flows))


def test_shared_instance_needs_both_routing_fields() -> None:
    errors = errors_of(minimal(endpointType="shared_instance"))
    assert set(errors) == {"routing.flowNameField", "routing.externalCustomerIdField"}
    errors = errors_of(
        minimal(endpointType="shared_instance", routing={"flowNameField": "headers.x-flow"})
    )
    assert list(errors) == ["routing.externalCustomerIdField"]


def test_routing_is_rejected_where_it_does_not_apply() -> None:
    assert list(errors_of(minimal(routing={"flowNameField": "headers.x"}))) == ["routing"]
    errors = errors_of(
        minimal(
            endpointType="instance_specific", routing={"externalCustomerIdField": "body.data.a"}
        )
    )
    assert list(errors) == ["routing.externalCustomerIdField"]


@pytest.mark.parametrize("field", ["body.account", "headers.X-Flow", "headers.", "flow"])
def test_routing_field_must_be_a_payload_path(field: str) -> None:
    definition = minimal(
        endpointType="shared_instance",
        routing={"flowNameField": field, "externalCustomerIdField": "queryParameters.account"},
    )
    assert list(errors_of(definition)) == ["routing.flowNameField"]


def test_sequential_queue_with_synchronous_trigger_is_rejected() -> None:
    errors = errors_of(
        with_flow(trigger={"type": "webhook", "synchronous": True}, queue={"type": "sequential"})
    )
    assert list(errors) == ["flows[0].queue.type"]
    assert "synchronous" in errors["flows[0].queue.type"]


@pytest.mark.parametrize("limit", [None, 1, 16])
def test_throttled_queue_needs_a_limit_from_2_to_15(limit: int | None) -> None:
    queue = (
        {"type": "throttled"} if limit is None else {"type": "throttled", "concurrencyLimit": limit}
    )
    assert list(errors_of(with_flow(queue=queue))) == ["flows[0].queue.concurrencyLimit"]


def test_throttled_limits_at_the_bounds_are_accepted() -> None:
    for limit in (2, 15):
        definition_validate(
            definition=with_flow(queue={"type": "throttled", "concurrencyLimit": limit})
        )


def test_concurrency_limit_only_for_throttled_queues() -> None:
    errors = errors_of(with_flow(queue={"type": "parallel", "concurrencyLimit": 4}))
    assert list(errors) == ["flows[0].queue.concurrencyLimit"]


def test_unknown_queue_type_is_rejected() -> None:
    assert list(errors_of(with_flow(queue={"type": "fifo"}))) == ["flows[0].queue.type"]


def test_hmac_webhook_needs_hmac_settings() -> None:
    assert list(errors_of(with_trigger(type="hmac_webhook"))) == ["flows[0].trigger.hmac"]


def test_hmac_only_on_hmac_webhook_triggers() -> None:
    errors = errors_of(with_trigger(type="webhook", hmac={"preset": "github", "secret": "s"}))
    assert list(errors) == ["flows[0].trigger.hmac"]


@pytest.mark.parametrize(
    ("hmac", "path"),
    [
        ({"algorithm": "sha256", "secret": "s"}, "flows[0].trigger.hmac.header"),
        (
            {"header": "x-sig", "algorithm": "sha257", "secret": "s"},
            "flows[0].trigger.hmac.algorithm",
        ),
        # shake_128 is in hashlib but its digest needs a length, so HMAC cannot use it.
        (
            {"header": "x-sig", "algorithm": "shake_128", "secret": "s"},
            "flows[0].trigger.hmac.algorithm",
        ),
        (
            {"header": "x-sig", "algorithm": "sha256", "secret": "s", "encoding": "base32"},
            "flows[0].trigger.hmac.encoding",
        ),
        ({"header": "x-sig", "algorithm": "sha256", "secret": ""}, "flows[0].trigger.hmac.secret"),
        ({"preset": "paypal", "secret": "s"}, "flows[0].trigger.hmac.preset"),
        ({"preset": "stripe"}, "flows[0].trigger.hmac.secret"),
        ({"preset": "stripe", "secret": "s", "header": "x"}, "flows[0].trigger.hmac.header"),
        (
            {"preset": "github", "secret": "s", "toleranceSeconds": 60},
            "flows[0].trigger.hmac.toleranceSeconds",
        ),
        (
            {"preset": "slack", "secret": "s", "toleranceSeconds": 0},
            "flows[0].trigger.hmac.toleranceSeconds",
        ),
    ],
)
def test_bad_hmac_settings_name_the_field(hmac: dict[str, Any], path: str) -> None:
    assert list(errors_of(with_trigger(type="hmac_webhook", hmac=hmac))) == [path]


def test_good_hmac_settings_are_accepted() -> None:
    for hmac in (
        {
            "header": "x-sig",
            "algorithm": "sha1",
            "secret": "s",
            "encoding": "base64",
            "prefix": "sha1=",
        },
        {"preset": "standard_webhooks", "secret": "whsec_x", "toleranceSeconds": 60},
        {"preset": "shopify", "secret": "s"},
    ):
        definition_validate(definition=with_trigger(type="hmac_webhook", hmac=hmac))


def test_unknown_endpoint_security_is_rejected() -> None:
    errors = errors_of(with_trigger(type="webhook", endpointSecurity="apikey"))
    assert list(errors) == ["flows[0].trigger.endpointSecurity"]


@pytest.mark.parametrize("status", [99, 600])
def test_response_status_code_must_be_100_to_599(status: int) -> None:
    errors = errors_of(with_trigger(type="webhook", response={"statusCode": status}))
    assert list(errors) == ["flows[0].trigger.response.statusCode"]


def test_response_header_values_must_be_text() -> None:
    errors = errors_of(with_trigger(type="webhook", response={"headers": {"x-acme": 5}}))
    assert list(errors) == ["flows[0].trigger.response.headers['x-acme']"]


def test_response_and_synchronous_only_on_webhook_triggers() -> None:
    schedule = {"every": 5, "unit": "minutes"}
    errors = errors_of(
        with_trigger(type="schedule", schedule=schedule, response={}, synchronous=True)
    )
    assert set(errors) == {"flows[0].trigger.response", "flows[0].trigger.synchronous"}


def test_synchronous_on_a_component_trigger_without_sync_support_is_rejected() -> None:
    errors = errors_of(with_trigger(type="deftest.either", synchronous=True))
    assert list(errors) == ["flows[0].trigger.synchronous"]


def test_inputs_only_on_component_triggers() -> None:
    assert list(errors_of(with_trigger(type="webhook", inputs={"a": 1}))) == [
        "flows[0].trigger.inputs"
    ]
    definition_validate(definition=with_trigger(type="deftest.hook", inputs={"a": 1}))


def test_values_are_strict_not_coerced() -> None:
    errors = errors_of(with_trigger(type="webhook", synchronous="yes"))
    assert list(errors) == ["flows[0].trigger.synchronous"]
    errors = errors_of(minimal(rateLimitPerSecond="50"))
    assert list(errors) == ["rateLimitPerSecond"]


def test_singleton_needs_a_schedule() -> None:
    assert list(errors_of(with_flow(singleton=True))) == ["flows[0].singleton"]


def test_bad_retry_values_are_rejected() -> None:
    errors = errors_of(with_flow(retry={"maxAttempts": -1, "delaySeconds": 1.5}))
    assert set(errors) == {"flows[0].retry.maxAttempts", "flows[0].retry.delaySeconds"}


def test_sync_timeout_must_be_positive() -> None:
    assert list(errors_of(with_flow(syncTimeoutSeconds=0))) == ["flows[0].syncTimeoutSeconds"]


def test_duplicate_flow_names_are_rejected() -> None:
    errors = errors_of(minimal(flows=[flow(name="Same"), flow(name="Same")]))
    assert list(errors) == ["flows[1].name"]


def test_duplicate_step_names_are_rejected() -> None:
    steps = [{"name": "S", "action": "log.write"}, {"name": "S", "action": "log.write"}]
    assert list(errors_of(with_flow(steps=steps))) == ["flows[0].steps[1].name"]


def test_duplicate_config_keys_are_rejected() -> None:
    variables = [{"key": "K"}, {"key": "Other"}, {"key": "K", "type": "number"}]
    assert list(errors_of(minimal(configVariables=variables))) == ["configVariables[2].key"]


@pytest.mark.parametrize(
    ("variable", "path"),
    [
        ({"key": "K", "type": "text"}, "configVariables[0].type"),
        ({"key": "K", "type": "picklist"}, "configVariables[0].options"),
        ({"key": "K", "type": "picklist", "options": []}, "configVariables[0].options"),
        ({"key": "K", "type": "picklist", "options": ["a", "a"]}, "configVariables[0].options[1]"),
        ({"key": "K", "type": "string", "options": ["a"]}, "configVariables[0].options"),
        (
            {"key": "K", "type": "picklist", "options": ["a"], "default": "b"},
            "configVariables[0].default",
        ),
        ({"key": "K", "type": "number", "default": "5"}, "configVariables[0].default"),
        ({"key": "K", "type": "number", "default": True}, "configVariables[0].default"),
        ({"key": "K", "type": "boolean", "default": "true"}, "configVariables[0].default"),
        ({"key": "K", "type": "string", "default": 5}, "configVariables[0].default"),
        ({"key": "K", "type": "secret", "default": ["x"]}, "configVariables[0].default"),
        (
            {"key": "K", "type": "schedule", "default": {"scheduleType": "hour", "value": "0 * *"}},
            "configVariables[0].default",
        ),
        (
            {"key": "K", "type": "schedule", "default": {"every": 5, "unit": "minutes"}},
            "configVariables[0].default",
        ),
        ({"key": "K", "required": "yes"}, "configVariables[0].required"),
        ({"key": ""}, "configVariables[0].key"),
    ],
)
def test_bad_config_variable_names_the_field(variable: dict[str, Any], path: str) -> None:
    assert list(errors_of(minimal(configVariables=[variable]))) == [path]


def test_config_variable_of_every_type_with_matching_default_is_accepted() -> None:
    variables = [
        {"key": "S", "type": "string", "default": "x"},
        {"key": "B", "type": "boolean", "default": False},
        {"key": "N", "type": "number", "default": 3},
        {"key": "P", "type": "picklist", "options": ["a", "b"], "default": "b"},
        {"key": "X", "type": "secret"},
        {"key": "D", "type": "schedule", "default": {"scheduleType": "none"}},
        {"key": "J", "type": "json", "default": [1, {"a": None}]},
    ]
    definition_validate(definition=minimal(configVariables=variables))


def test_schedule_default_message_names_the_bad_part() -> None:
    variable = {
        "key": "K",
        "type": "schedule",
        "default": {"scheduleType": "day", "value": "0 9 * * *", "timeZone": "Mars/Olympus"},
    }
    errors = errors_of(minimal(configVariables=[variable]))
    assert "timeZone" in errors["configVariables[0].default"]


def test_values_that_are_not_json_are_rejected_with_their_path() -> None:
    steps = [{"name": "S", "action": "log.write", "inputs": {"rows": [1, float("nan")]}}]
    errors = errors_of(with_flow(steps=steps))
    assert list(errors) == ["flows[0].steps[0].inputs.rows[1]"]


def test_nul_characters_are_rejected() -> None:
    assert list(errors_of(minimal(description="a\x00b"))) == ["description"]


def test_all_problems_are_reported_at_once() -> None:
    definition = minimal(
        flows=[
            flow(name="A", steps=[{"name": "S", "action": "nope.nope"}]),
            flow({"type": "schedule", "schedule": {"cron": "bad"}}, name="B"),
            flow(name="A"),
        ]
    )
    errors = errors_of(definition)
    assert set(errors) == {
        "flows[0].steps[0].action",
        "flows[1].trigger.schedule.cron",
        "flows[2].name",
    }


def test_error_string_lists_each_path() -> None:
    with pytest.raises(DefinitionError) as caught:
        definition_validate(definition=with_trigger(type="schedule"))
    assert "flows[0].trigger.schedule: A schedule trigger needs a schedule." in str(caught.value)


def test_yaml_keeps_date_like_text_as_text() -> None:
    parsed = definition_parse(text="name: Dated\ndescription: 2026-03-08\nflows: []\n")
    assert parsed["description"] == "2026-03-08"


def test_yaml_duplicate_keys_are_a_syntax_error() -> None:
    with pytest.raises(DefinitionError) as caught:
        definition_parse(text="name: A\nname: B\n")
    assert list(caught.value.errors) == ["definition"]
    assert "duplicate key 'name'" in caught.value.errors["definition"]


@pytest.mark.parametrize(
    ("text", "content_type"),
    [("name: [unclosed\n", None), ('{"name": }', "application/json"), (b"\xff\xfe\x00", None)],
)
def test_syntax_errors_are_reported_at_definition(
    text: str | bytes, content_type: str | None
) -> None:
    with pytest.raises(DefinitionError) as caught:
        definition_parse(text=text, content_type=content_type)
    assert list(caught.value.errors) == ["definition"]


def test_normalize_omits_defaults_and_fills_stored_shapes() -> None:
    definition = with_flow(
        trigger={
            "type": "hmac_webhook",
            "synchronous": False,
            "endpointSecurity": "customer_optional",
            "hmac": {"header": "x-sig", "algorithm": "sha256", "secret": "s", "encoding": "hex"},
            "response": {},
        },
        queue={"type": "parallel"},
        retry={"maxAttempts": 0, "delaySeconds": 30},
        singleton=False,
    )
    assert definition_normalize(definition=definition, include_secrets=True)["flows"][0] == {
        "name": "F",
        "trigger": {
            "type": "hmac_webhook",
            "response": {"statusCode": 200},
            "hmac": {"header": "x-sig", "algorithm": "sha256", "secret": "s"},
        },
        "retry": {"delaySeconds": 30},
        "steps": [],
    }


def test_path_keeps_user_keys_that_look_like_type_names() -> None:
    errors = errors_of(with_trigger(type="webhook", response={"headers": {"str": 1}}))
    assert list(errors) == ["flows[0].trigger.response.headers.str"]
