"""Definition validation: each rule answers with the exact path of the fault."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.definitions import DefinitionError, definition_validate
from tests.fixtures import definition_components  # noqa: F401 - registers "deftest"
from tests.fixtures.definitions import errors_of, flow, minimal, with_flow, with_trigger

BUILTIN_ACTIONS = [
    "http.request",
    "text.split",
    "flow.return",
    "flow.stop_execution",
    "flow.fail",
    "flow.sleep",
    "log.write",
]


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


def test_values_are_strict_not_coerced() -> None:
    errors = errors_of(with_trigger(type="webhook", synchronous="yes"))
    assert list(errors) == ["flows[0].trigger.synchronous"]
    errors = errors_of(minimal(rateLimitPerSecond="50"))
    assert list(errors) == ["rateLimitPerSecond"]


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
