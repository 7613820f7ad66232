"""Small builders for runner tests: an integration with one flow, deployed to a customer."""

from __future__ import annotations

import uuid
from typing import Any

from executions.models import Execution
from executions.results import execution_final_result
from executions.runner import execution_run
from executions.services import execution_create
from instances.models import Customer, Instance
from integrations.models import ConfigVariable, Flow, Integration, Step


def flow_make(
    *,
    steps: list[tuple[str, str, dict[str, Any]]],
    config_variables: list[dict[str, Any]] | None = None,
    config_values: dict[str, Any] | None = None,
    flow_name: str = "Main",
) -> tuple[Instance, Flow]:
    """``steps`` are ``(name, action, inputs)``; ``config_variables`` are ConfigVariable
    fields (``key``, ``default``, ...)."""
    suffix = uuid.uuid4().hex[:8]
    integration = Integration.objects.create(name=f"Integration {suffix}")
    for position, variable in enumerate(config_variables or []):
        ConfigVariable.objects.create(integration=integration, position=position, **variable)
    flow = Flow.objects.create(integration=integration, name=flow_name)
    for position, (name, action, inputs) in enumerate(steps):
        Step.objects.create(flow=flow, position=position, name=name, action=action, inputs=inputs)
    customer = Customer.objects.create(name=f"Customer {suffix}", external_id=f"cust-{suffix}")
    instance = Instance.objects.create(
        customer=customer,
        integration=integration,
        name=f"Instance {suffix}",
        config_values=config_values or {},
    )
    return instance, flow


def execution_make(
    *,
    steps: list[tuple[str, str, dict[str, Any]]],
    payload: dict[str, Any] | None = None,
    enqueue: bool = False,
    **flow_options: Any,
) -> Execution:
    instance, flow = flow_make(steps=steps, **flow_options)
    return execution_create(
        instance=instance,
        flow=flow,
        trigger_kind="manual",
        payload=payload if payload is not None else {"body": {"data": {}}},
        enqueue=enqueue,
    )


def flow_run_in_process(instance: Instance, flow_name: str) -> Any:
    """Run ``flow_name`` of ``instance`` here, as a worker would; the last step's data
    (the run must succeed)."""
    execution = execution_create(
        instance=instance,
        flow=instance.integration.flows.get(name=flow_name),
        trigger_kind="manual",
        payload={},
        enqueue=False,
    )
    execution_run(execution_id=str(execution.pk))
    execution.refresh_from_db()
    assert execution.status == "succeeded", execution.error
    return execution_final_result(execution)["data"]
