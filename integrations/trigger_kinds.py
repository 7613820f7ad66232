"""Every kind of trigger a flow may have, with what each takes: the built-in ones and every
registered component trigger.

The admin's trigger editor lists these and shows only the chosen kind's fields; the rules
themselves (what a kind accepts) are the importer's, in ``definitions.validation``, and
this table says the same thing in the shape a form needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from integrations.components.registry import (
    Input,
    components_all,
    get_polling_trigger,
    get_trigger,
)
from integrations.models import TriggerType


class ScheduleUse(StrEnum):
    NONE = "none"  # the kind takes no schedule
    OPTIONAL = "optional"  # a webhook may start it, or a schedule (a component's choice)
    REQUIRED = "required"  # only a schedule starts it


@dataclass(frozen=True)
class TriggerKind:
    key: str
    label: str
    description: str
    group: str
    webhook: bool = False  # a webhook URL starts it: endpoint security, a response
    synchronous: bool = False  # it may answer the caller with the run's result
    hmac: bool = False  # it checks a signature with hmac settings
    schedule: ScheduleUse = ScheduleUse.NONE
    inputs: tuple[Input, ...] = ()
    polling: bool = False  # it polls a source: batchSize and onDeploy apply (SPEC §8)


BUILT_IN = "Built in"

BUILTIN_KINDS: tuple[TriggerKind, ...] = (
    TriggerKind(
        TriggerType.WEBHOOK,
        "Webhook",
        "Starts the flow when the customer's system calls the instance's webhook URL, "
        "with any verb and payload.",
        BUILT_IN,
        webhook=True,
        synchronous=True,
    ),
    TriggerKind(
        TriggerType.HMAC_WEBHOOK,
        "HMAC webhook",
        "A webhook that accepts only requests signed with the shared secret: a generic "
        "HMAC header, or a sender's own scheme (Stripe, GitHub, Shopify, Slack, Standard "
        "Webhooks), checked on the exact body before anything is parsed.",
        BUILT_IN,
        webhook=True,
        synchronous=True,
        hmac=True,
    ),
    TriggerKind(
        TriggerType.SCHEDULE,
        "Schedule",
        "Starts the flow by the clock: every N minutes, hours, days or weeks, a cron "
        "expression in a time zone, or a schedule each customer picks in a config variable.",
        BUILT_IN,
        schedule=ScheduleUse.REQUIRED,
    ),
    TriggerKind(
        TriggerType.INSTANCE_DEPLOY,
        "Instance deploy",
        "Runs once each time the integration is deployed to a customer (first deploy and "
        "redeploys): set-up work such as registering webhooks with the other system.",
        BUILT_IN,
    ),
    TriggerKind(
        TriggerType.INSTANCE_REMOVE,
        "Instance remove",
        "Runs once when the customer's instance is removed: clean-up work.",
        BUILT_IN,
    ),
)


def trigger_kinds_all() -> list[TriggerKind]:
    """The built-in kinds, then each component's triggers and polling triggers, grouped
    by component."""
    kinds = list(BUILTIN_KINDS)
    for component in components_all():
        group = component.name or component.key
        kinds.extend(_component_kind(key, group) for key in sorted(component.triggers))
        kinds.extend(_polling_kind(key, group) for key in sorted(component.polling_triggers))
    return kinds


def trigger_kind_get(key: str) -> TriggerKind | None:
    builtin = next((kind for kind in BUILTIN_KINDS if kind.key == key), None)
    if builtin is not None:
        return builtin
    polling = get_polling_trigger(key) is not None
    if get_trigger(key) is None and not polling:
        return None
    component_key = key.split(".", 1)[0]
    component = next(c for c in components_all() if c.key == component_key)
    group = component.name or component.key
    return _polling_kind(key, group) if polling else _component_kind(key, group)


def _component_kind(key: str, group: str) -> TriggerKind:
    trigger = get_trigger(key)
    assert trigger is not None  # listed by its component
    if trigger.schedule_support:
        schedule = ScheduleUse.OPTIONAL if trigger.webhook_support else ScheduleUse.REQUIRED
    else:
        schedule = ScheduleUse.NONE
    return TriggerKind(
        key,
        key,
        trigger.description,
        group,
        webhook=trigger.webhook_support,
        synchronous=trigger.webhook_support and trigger.synchronous_response_support,
        schedule=schedule,
        inputs=trigger.inputs,
    )


def _polling_kind(key: str, group: str) -> TriggerKind:
    trigger = get_polling_trigger(key)
    assert trigger is not None  # listed by its component
    # No endpoint: only its schedule starts it, and it never answers a caller.
    return TriggerKind(
        key,
        key,
        trigger.description,
        group,
        schedule=ScheduleUse.REQUIRED,
        inputs=trigger.inputs,
        polling=True,
    )
