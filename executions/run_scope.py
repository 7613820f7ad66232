"""What a run's steps may read: the references' scope, and the run's persisted state.

``execution_scope`` builds the roots references start at (SPEC §2 "References");
``run_state_open`` gives the run its state buffer (SPEC §7) and, when a step references
``state``, puts the snapshot in the scope as it is at run start.
"""

from __future__ import annotations

from typing import Any

from executions import services
from executions.models import Execution
from executions.run_definitions import config_vars_for
from instances.endpoints import instance_webhook_context
from integrations.models import Step
from integrations.references import template_references
from state.buffer import StateBuffer, StateOwner
from state.services import state_buffer_open


def _reads_root(steps: list[Step] | None, root: str, keys: frozenset[str] | None = None) -> bool:
    """Whether any step's inputs reference ``root`` (or, given ``keys``, ``root`` whole or
    one of those keys under it). Unknown steps, or inputs that do not parse (the step
    fails on them anyway), count as reading it."""
    if steps is None:
        return True
    for step in steps:
        try:
            references = template_references(step.inputs)
        except Exception:
            return True
        for reference in references:
            if reference.root != root:
                continue
            if keys is None or not reference.segments or reference.segments[0].key in keys:
                return True
    return False


# What ``instance_webhook_context`` adds to ``trigger`` (four queries): computed only for
# flows whose steps can read it.
WEBHOOK_CONTEXT_KEYS = frozenset({"webhookUrls", "webhookApiKeys", "invokeUrl"})


def _reads_webhook_context(steps: list[Step] | None) -> bool:
    """Whether any step's inputs reference ``trigger.webhookUrls``, ``webhookApiKeys``,
    ``invokeUrl`` or ``trigger`` whole. Only references can: actions are not handed the
    trigger."""
    return _reads_root(steps, "trigger", WEBHOOK_CONTEXT_KEYS)


def _config_vars(execution: Execution) -> dict[str, Any]:
    return config_vars_for(integration=execution.integration, instance=execution.instance)


def execution_scope(execution: Execution, steps: list[Step] | None = None) -> dict[str, Any]:
    """What references may read during this run (SPEC §2 "References"). Given the flow's
    ``steps``, the webhook URLs and keys are left out when no step can read them."""
    instance = execution.instance
    flow = execution.flow
    # Computed at run time so a flow sees the instance's current URLs and keys, including
    # those added after the execution was accepted. A payload that carries its own (deploy
    # and remove flows) wins: a remove flow runs after the endpoints are gone and needs the
    # URLs it registered.
    webhook_context = instance_webhook_context(instance) if _reads_webhook_context(steps) else {}
    trigger = {**webhook_context, **(execution.trigger_payload or {})}
    return {
        "trigger": trigger,
        "configVars": _config_vars(execution),
        "steps": {},
        **services.identity_fields(
            instance=instance,
            flow=flow,
            integration=execution.integration,
            customer=execution.customer,
        ),
        "execution": {
            "id": str(execution.id),
            "attempt": execution.attempt,
            "startedAt": execution.started_at.isoformat() if execution.started_at else None,
        },
    }


def state_owner_for(*, execution: Execution) -> StateOwner:
    """Whose state a run keeps: its instance, its flow's name, its integration's name."""
    return StateOwner(
        instance_id=execution.instance_id,
        flow_name=execution.flow.name,
        integration_name=execution.integration.name,
    )


def run_state_open(
    *, execution: Execution, steps: list[Step] | None, scope: dict[str, Any]
) -> StateBuffer:
    """The run's state buffer. Its snapshot is read now when a step references ``state``
    (references read the state as the run started), else when an action first touches
    it, so a run that never does costs no query."""
    buffer = state_buffer_open(owner=state_owner_for(execution=execution))
    if _reads_root(steps, "state"):
        scope["state"] = buffer.snapshot_copy()
    return buffer
