"""The component registry: every action and trigger a definition may name, by key.

A component is a Python module that creates a :class:`Component` and decorates functions::

    from integrations.components.registry import Component, Input

    acme = Component("acme", name="Acme CRM")

    @acme.action("create_contact", inputs=[Input("email", "string", required=True)])
    def create_contact(context, *, email):
        context.log.info(f"creating {email}")
        return {"created": email}

Actions are then ``acme.create_contact`` in a definition. Custom component modules are
listed in the ``TRIGGERFISH_COMPONENTS`` setting and imported at start-up, so adding a
component means adding a module, never editing the runner.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

BUILTIN_COMPONENT_MODULES = (
    "integrations.components.builtins.http",
    "integrations.components.builtins.http_poll",
    "integrations.components.builtins.text",
    "integrations.components.builtins.flow",
    "integrations.components.builtins.log",
    "integrations.components.builtins.slack",
    "integrations.components.builtins.state",
)

INPUT_TYPES = ("string", "number", "integer", "boolean", "object", "list", "bytes", "any")


class ComponentError(Exception):
    """A component was declared wrongly (duplicate key, bad input type)."""


@dataclass(frozen=True)
class Input:
    name: str
    type: str = "any"
    required: bool = False
    default: Any = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.type not in INPUT_TYPES:
            raise ComponentError(f"Input {self.name!r} has unknown type {self.type!r}.")


@dataclass(frozen=True)
class Action:
    key: str
    function: Callable[..., Any]
    inputs: tuple[Input, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Trigger:
    key: str
    perform: Callable[..., Any]
    inputs: tuple[Input, ...] = ()
    description: str = ""
    webhook_support: bool = True
    schedule_support: bool = False
    synchronous_response_support: bool = True
    on_instance_deploy: Callable[..., Any] | None = None
    on_instance_remove: Callable[..., Any] | None = None


@dataclass(frozen=True)
class PollingTrigger:
    """A trigger that asks a source for new items on a schedule (SPEC §8):
    ``poll(context, params, cursor)`` returns a ``polling.PollResult``. ``inputs_check``
    answers ``{input name: message}`` for settings that cannot work together (the
    importer reports each at ``trigger.inputs.<name>``)."""

    key: str
    poll: Callable[..., Any]
    inputs: tuple[Input, ...] = ()
    description: str = ""
    inputs_check: Callable[[dict[str, Any]], dict[str, str]] | None = None


@dataclass
class Component:
    key: str
    name: str = ""
    description: str = ""
    actions: dict[str, Action] = field(default_factory=dict)
    triggers: dict[str, Trigger] = field(default_factory=dict)
    polling_triggers: dict[str, PollingTrigger] = field(default_factory=dict)

    def __post_init__(self) -> None:
        register_component(self)

    def action(
        self, key: str, *, inputs: list[Input] | tuple[Input, ...] = (), description: str = ""
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
            full_key = f"{self.key}.{key}"
            if full_key in self.actions:
                raise ComponentError(f"Action {full_key!r} is declared twice.")
            self.actions[full_key] = Action(full_key, function, tuple(inputs), description)
            return function

        return decorate

    def trigger(
        self,
        key: str,
        *,
        inputs: list[Input] | tuple[Input, ...] = (),
        description: str = "",
        webhook_support: bool = True,
        schedule_support: bool = False,
        synchronous_response_support: bool = True,
        on_instance_deploy: Callable[..., Any] | None = None,
        on_instance_remove: Callable[..., Any] | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorate(perform: Callable[..., Any]) -> Callable[..., Any]:
            full_key = f"{self.key}.{key}"
            if full_key in self.triggers:
                raise ComponentError(f"Trigger {full_key!r} is declared twice.")
            self.triggers[full_key] = Trigger(
                full_key,
                perform,
                tuple(inputs),
                description,
                webhook_support,
                schedule_support,
                synchronous_response_support,
                on_instance_deploy,
                on_instance_remove,
            )
            return perform

        return decorate

    def polling_trigger(
        self,
        key: str,
        *,
        inputs: list[Input] | tuple[Input, ...] = (),
        description: str = "",
        inputs_check: Callable[[dict[str, Any]], dict[str, str]] | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorate(poll: Callable[..., Any]) -> Callable[..., Any]:
            full_key = f"{self.key}.{key}"
            if full_key in self.triggers or full_key in self.polling_triggers:
                raise ComponentError(f"Trigger {full_key!r} is declared twice.")
            self.polling_triggers[full_key] = PollingTrigger(
                full_key, poll, tuple(inputs), description, inputs_check
            )
            return poll

        return decorate


_components: dict[str, Component] = {}


def register_component(component: Component) -> None:
    existing = _components.get(component.key)
    if existing is not None and existing is not component:
        raise ComponentError(f"Component {component.key!r} is registered twice.")
    _components[component.key] = component


def load_components() -> None:
    """Import the built-in components and those the settings list. Idempotent."""
    for module in (*BUILTIN_COMPONENT_MODULES, *settings.TRIGGERFISH_COMPONENTS):
        importlib.import_module(module)


def components_all() -> list[Component]:
    """Every registered component, by key: what the admin's pickers list."""
    return [_components[key] for key in sorted(_components)]


def is_component_key(key: str) -> bool:
    """Whether ``key`` names a component's action or trigger (``<component>.<name>``)
    rather than a built-in; the key's shape decides, so it holds for an unregistered one."""
    return "." in key


def get_action(key: str) -> Action | None:
    component = _components.get(key.split(".", 1)[0])
    return component.actions.get(key) if component else None


def get_trigger(key: str) -> Trigger | None:
    component = _components.get(key.split(".", 1)[0])
    return component.triggers.get(key) if component else None


def get_polling_trigger(key: str) -> PollingTrigger | None:
    component = _components.get(key.split(".", 1)[0])
    return component.polling_triggers.get(key) if component else None
