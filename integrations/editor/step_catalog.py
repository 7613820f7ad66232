"""What the step editor offers: every registered action with its declared inputs (the
picker's choices and the catalog the page's script builds input fields from), and the
references a step may use in its inputs (SPEC §2 "References", §3 "What the flow's
steps see").

Both are read from their one source — the component registry, the flow's config
variables — so a component added to ``TRIGGERFISH_COMPONENTS`` appears in the picker
without touching the admin.
"""

from __future__ import annotations

import json
from typing import Any

from integrations.components.registry import Action, Input, components_all, get_action
from integrations.models import ConfigVariable, Flow

UNREGISTERED_GROUP = "Unregistered"

# The trigger payload's keys (SPEC §3) and which triggers fill them. The runner adds the
# webhook URLs and keys for every kind of flow that reads them.
_TRIGGER_REFERENCES: tuple[tuple[str, str], ...] = (
    ("trigger.body.data", "the parsed body: JSON, text, bytes or multipart parts (webhooks)"),
    ("trigger.body.contentType", "the body's content type (webhooks)"),
    ("trigger.rawBody.data", "the exact request bytes (webhooks)"),
    ("trigger.headers", "request headers, lower-case names (webhooks)"),
    ("trigger.headers['content-type']", "one header (webhooks)"),
    ("trigger.queryParameters", "query parameters: text, or a list when repeated (webhooks)"),
    ("trigger.pathFragment", "the URL path after the token (webhooks)"),
    ("trigger.webhookUrls", "this instance's webhook URL per flow name"),
    ("trigger.webhookApiKeys", "this instance's API keys per flow name"),
    ("trigger.invokeUrl", "the shared endpoint (shared_instance integrations)"),
    ("trigger.scheduledTime", "when the fire was due (schedules)"),
    ("trigger.invokedAt", "when it fired (schedules)"),
    ("trigger.startedAt", "when the run started"),
)

_RUN_REFERENCES: tuple[tuple[str, str], ...] = (
    ("instance.id", "the instance's id"),
    ("instance.name", "the instance's name"),
    ("customer.id", "the customer's id"),
    ("customer.name", "the customer's name"),
    ("customer.externalId", "the customer's external id"),
    ("integration.id", "this version's id"),
    ("integration.name", "the integration's name"),
    ("integration.version", "the version number"),
    ("flow.id", "the flow's id"),
    ("flow.name", "the flow's name"),
    ("execution.id", "this run's id"),
    # Persisted state (docs/state.md), as it was when the run started.
    ("state.flow", "this instance flow's saved state, by key"),
    ("state.instance", "this instance's saved state, by key"),
    ("state.integration", "the integration's saved state, by key"),
)


def _json_safe(value: Any) -> Any:
    """A declared default as the page can carry it (a component may default to anything)."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


def _input_entry(declared: Input) -> dict[str, Any]:
    return {
        "name": declared.name,
        "type": declared.type,
        "required": declared.required,
        "default": _json_safe(declared.default),
        "description": declared.description,
    }


def actions_registered() -> list[tuple[str, list[Action]]]:
    """Each component that has actions, by its display name, with its actions by key."""
    return [
        (component.name or component.key, [component.actions[k] for k in sorted(component.actions)])
        for component in components_all()
        if component.actions
    ]


def action_catalog() -> dict[str, dict[str, Any]]:
    """Every registered action by key: its component, description and declared inputs."""
    return {
        action.key: {
            "component": component_name,
            "description": action.description,
            "inputs": [_input_entry(declared) for declared in action.inputs],
        }
        for component_name, actions in actions_registered()
        for action in actions
    }


def action_label(action: Action) -> str:
    return f"{action.key} — {action.description}" if action.description else action.key


def action_choices(current: str | None) -> list[tuple[str, Any]]:
    """The picker's options, grouped by component. A stored action that is not registered
    (a component since removed) stays selectable so the step is shown as it is."""
    choices: list[tuple[str, Any]] = [("", "— Choose an action —")]
    choices += [
        (component_name, [(action.key, action_label(action)) for action in actions])
        for component_name, actions in actions_registered()
    ]
    if current and get_action(current) is None:
        choices.append((UNREGISTERED_GROUP, [(current, f"{current} (unregistered)")]))
    return choices


def _describe_input(declared: Input) -> str:
    facts = [declared.type]
    if declared.required:
        facts.append("required")
    if declared.default is not None:
        facts.append(f"default {json.dumps(_json_safe(declared.default))}")
    return f"{declared.name} ({', '.join(facts)})"


def action_help(key: str | None) -> str:
    """The chosen action in words, for the page without its script."""
    if not key:
        return "Choose the action this step runs."
    action = get_action(key)
    if action is None:
        return f"{key!r} is not a registered action; choose one to save this step."
    inputs = "; ".join(_describe_input(declared) for declared in action.inputs)
    described = action.description or action.key
    return f"{described} Inputs: {inputs}." if inputs else f"{described} No inputs."


def _config_variable_reference(key: str) -> str:
    # SPEC §2: configVars.Key only when the key has no spaces; the quoted form always works.
    quoted = key.replace("\\", "\\\\").replace("'", "\\'")
    return f"configVars['{quoted}']"


def step_references(flow: Flow) -> dict[str, list[dict[str, str]]]:
    """What a step of ``flow`` may reference, by group. Earlier steps are not here: the
    page lists them from its own step cards, in their current order."""
    config_variables: list[dict[str, str]] = []
    if flow.integration_id:
        variables = ConfigVariable.objects.filter(integration_id=flow.integration_id)
        config_variables = [
            {
                "expression": _config_variable_reference(variable.key),
                "description": f"{variable.type} config variable",
            }
            for variable in variables.order_by("position", "key").only("key", "type")
        ]
    return {
        "trigger": [{"expression": e, "description": d} for e, d in _TRIGGER_REFERENCES],
        "configVars": config_variables,
        "run": [{"expression": e, "description": d} for e, d in _RUN_REFERENCES],
    }
