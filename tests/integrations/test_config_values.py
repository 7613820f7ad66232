"""Cleaning an instance's config values against its integration's variables."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.config_values import ConfigValueError, config_value_clean, config_values_clean
from integrations.definitions import integration_import
from integrations.models import Integration

pytestmark = pytest.mark.django_db

SCHEDULE = {"scheduleType": "day", "value": "0 9 * * *", "timeZone": "Europe/Berlin"}


@pytest.fixture
def integration() -> Integration:
    return integration_import(
        definition={
            "name": "Configurable",
            "configVariables": [
                {"key": "Base URL", "type": "string", "default": "http://127.0.0.1:9000"},
                {"key": "Token", "type": "secret", "required": True},
                {"key": "Verbose", "type": "boolean", "default": False},
                {"key": "Limit", "type": "number"},
                {"key": "Region", "type": "picklist", "options": ["us", "eu"], "default": "us"},
                {"key": "Sync", "type": "schedule"},
                {"key": "Mapping", "type": "json"},
            ],
            "flows": [{"name": "F", "trigger": {"type": "webhook"}}],
        }
    )


def fields_of(integration: Integration, values: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ConfigValueError) as caught:
        config_values_clean(integration=integration, values=values)
    return caught.value.fields


def test_defaults_fill_in_and_every_key_is_present(integration: Integration) -> None:
    cleaned = config_values_clean(integration=integration, values={"Token": "s3cret"})
    assert cleaned == {
        "Base URL": "http://127.0.0.1:9000",
        "Token": "s3cret",
        "Verbose": False,
        "Limit": None,
        "Region": "us",
        "Sync": None,
        "Mapping": None,
    }


def test_given_values_of_every_type_are_kept(integration: Integration) -> None:
    values = {
        "Base URL": "https://crm.example",
        "Token": "t",
        "Verbose": True,
        "Limit": 2.5,
        "Region": "eu",
        "Sync": {"scheduleType": "minute", "value": "*/5 * * * *"},
        "Mapping": [{"a": None}, 1, "x"],
    }
    cleaned = config_values_clean(integration=integration, values=values)
    # The schedule value comes back in its full stored shape.
    assert cleaned["Sync"] == {"scheduleType": "minute", "value": "*/5 * * * *", "timeZone": "UTC"}
    assert {k: v for k, v in cleaned.items() if k != "Sync"} == {
        k: v for k, v in values.items() if k != "Sync"
    }


def test_required_without_value_or_default_is_named(integration: Integration) -> None:
    assert fields_of(integration, {}) == {"Token": "A value is required."}
    assert fields_of(integration, {"Token": ""}) == {"Token": "A value is required."}
    assert fields_of(integration, {"Token": None}) == {"Token": "A value is required."}


def test_unknown_keys_are_named(integration: Integration) -> None:
    fields = fields_of(integration, {"Token": "t", "Tokne": "t"})
    assert fields == {"Tokne": "Unknown config variable."}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("Base URL", 5),
        ("Token", ["t"]),
        ("Verbose", "true"),
        ("Verbose", 1),
        ("Limit", "5"),
        ("Limit", True),
        ("Limit", float("inf")),
        ("Region", "asia"),
        ("Region", 1),
        ("Sync", {"every": 5, "unit": "minutes"}),
        ("Sync", {"scheduleType": "hour", "value": "0 * * *"}),
        ("Sync", {"scheduleType": "hour", "value": "0 * * * *", "timeZone": "Nowhere/Land"}),
        ("Sync", "*/5 * * * *"),
        ("Mapping", {"bad": float("nan")}),
        ("Mapping", {1: "non-text key"}),
    ],
)
def test_type_mismatch_is_named(integration: Integration, key: str, value: Any) -> None:
    fields = fields_of(integration, {"Token": "t", key: value})
    assert list(fields) == [key]


def test_all_bad_keys_are_reported_together(integration: Integration) -> None:
    fields = fields_of(integration, {"Verbose": "no", "Extra": 1, "Region": "mars"})
    assert set(fields) == {"Verbose", "Extra", "Region", "Token"}


def test_schedule_message_names_the_bad_part(integration: Integration) -> None:
    fields = fields_of(integration, {"Token": "t", "Sync": {**SCHEDULE, "timeZone": "Mars/Base"}})
    assert fields["Sync"].startswith("timeZone: Unknown time zone 'Mars/Base'")


def test_schedule_type_none_needs_no_cron(integration: Integration) -> None:
    cleaned = config_values_clean(
        integration=integration, values={"Token": "t", "Sync": {"scheduleType": "none"}}
    )
    assert cleaned["Sync"] == {"scheduleType": "none", "value": "", "timeZone": "UTC"}


def test_values_must_be_a_mapping(integration: Integration) -> None:
    with pytest.raises(ConfigValueError) as caught:
        config_values_clean(integration=integration, values=["Token"])  # type: ignore[arg-type]
    assert list(caught.value.fields) == [""]


def test_single_value_clean_rejects_unknown_types() -> None:
    with pytest.raises(ValueError, match="Unknown config variable type"):
        config_value_clean(value_type="colour", value="red")
