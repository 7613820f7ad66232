"""Definition validation of flow triggers: schedules, HMAC settings, responses and component
triggers; each rule answers with the exact path of the fault."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from integrations.definitions import definition_validate
from tests.fixtures import definition_components  # noqa: F401 - registers "deftest"
from tests.fixtures.definitions import errors_of, flow, minimal, with_trigger


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
