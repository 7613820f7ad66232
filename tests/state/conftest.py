"""Builders for persisted-state tests: integrations by name and version, instances, runs."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from executions.models import Execution
from executions.runner import execution_run
from executions.services import execution_create
from instances.models import Customer, Instance
from integrations.models import Flow, Integration, Step
from state.buffer import StateOwner
from state.services import state_snapshot_load

StepSpec = tuple[str, str, dict[str, Any]]


class World:
    """Integrations, instances and runs, built from the real models and the real runner."""

    def __init__(self) -> None:
        self.suffix = uuid.uuid4().hex[:8]
        self.customer = Customer.objects.create(
            name=f"Customer {self.suffix}", external_id=f"cust-{self.suffix}"
        )

    def integration(self, flows: dict[str, list[StepSpec]], *, version: int = 1) -> Integration:
        integration = Integration.objects.create(name=f"Integration {self.suffix}", version=version)
        for flow_name, steps in flows.items():
            self.flow(integration, flow_name, steps)
        return integration

    def flow(self, integration: Integration, name: str, steps: list[StepSpec]) -> Flow:
        flow = Flow.objects.create(integration=integration, name=name)
        for position, (step_name, action, inputs) in enumerate(steps):
            Step.objects.create(
                flow=flow, position=position, name=step_name, action=action, inputs=inputs
            )
        return flow

    def instance(self, integration: Integration, name: str = "Main") -> Instance:
        return Instance.objects.create(
            customer=self.customer, integration=integration, name=f"{name} {self.suffix}"
        )

    def run(self, instance: Instance, flow_name: str, payload: Any = None) -> Execution:
        execution = self.queue(instance, flow_name, payload)
        execution_run(execution_id=str(execution.id))
        execution.refresh_from_db()
        return execution

    def queue(self, instance: Instance, flow_name: str, payload: Any = None) -> Execution:
        flow = instance.integration.flows.get(name=flow_name)
        return execution_create(
            instance=instance,
            flow=flow,
            trigger_kind="manual",
            payload={"body": {"data": payload}},
            enqueue=False,
        )


@pytest.fixture
def world(db: None) -> World:
    return World()


def last_result(execution: Execution) -> Any:
    return execution.steps.order_by("position").last().result  # type: ignore[union-attr]


def set_step(scope: str, key: str, value: Any, name: str = "Set") -> StepSpec:
    return (name, "state.set", {"scope": scope, "key": key, "value": value})


def get_step(scope: str, key: str, name: str = "Get", **extra: Any) -> StepSpec:
    return (name, "state.get", {"scope": scope, "key": key, **extra})


def increment_step(scope: str, key: str, by: Any = 1, name: str = "Add") -> StepSpec:
    return (name, "state.increment", {"scope": scope, "key": key, "by": by})


def stored(instance: Instance, flow_name: str) -> dict[str, dict[str, Any]]:
    """The three scopes as saved for ``instance``'s flow ``flow_name``."""
    owner = StateOwner(
        instance_id=instance.pk,
        flow_name=flow_name,
        integration_name=instance.integration.name,
    )
    return state_snapshot_load(owner=owner)
