"""Definition validation of how flows are routed and run: routing fields, queues, singleton,
retries and sync timeouts; each rule answers with the exact path of the fault."""

from __future__ import annotations

import pytest

from integrations.definitions import definition_validate
from tests.fixtures.definitions import errors_of, flow, minimal, with_flow


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


def test_singleton_needs_a_schedule() -> None:
    assert list(errors_of(with_flow(singleton=True))) == ["flows[0].singleton"]


def test_bad_retry_values_are_rejected() -> None:
    errors = errors_of(with_flow(retry={"maxAttempts": -1, "delaySeconds": 1.5}))
    assert set(errors) == {"flows[0].retry.maxAttempts", "flows[0].retry.delaySeconds"}


def test_sync_timeout_must_be_positive() -> None:
    assert list(errors_of(with_flow(syncTimeoutSeconds=0))) == ["flows[0].syncTimeoutSeconds"]
