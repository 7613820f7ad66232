"""Reads the surfaces share: what one instance's page shows, whether the API answers it
as JSON, the wizard draws it, or the admin lists it. Plain data (datetimes, not their ISO
text); each surface formats it its own way. Config values come masked
(``Instance.config_values_masked``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from instances.endpoints import instance_webhook_context
from instances.models import Instance
from instances.polling import PollDetail, poll_details
from instances.services import instance_changed_since_deploy
from integrations.schedules import schedule_next_runs, schedule_resolve


@dataclass(frozen=True)
class FlowDetail:
    name: str
    trigger_type: str
    # Only while the instance is deployed, and only for webhook flows.
    webhook_url: str | None
    api_keys: list[str] = field(default_factory=list)
    # The flow's schedule with a ``{configVar}`` resolved from the live config values;
    # None for a flow without one, or whose variable has no value.
    schedule: dict[str, Any] | None = None
    # The next five fire times, in the schedule's own zone.
    next_runs: list[datetime] = field(default_factory=list)
    # The config variable a ``{configVar}`` schedule reads (None for a fixed schedule or
    # none), so a page can say which value to set when ``schedule`` is None.
    schedule_variable: str | None = None
    # Polling flows only: where their polls stand (empty before the first poll).
    poll: PollDetail | None = None


@dataclass(frozen=True)
class InstanceDetail:
    instance: Instance
    config_values: dict[str, Any]
    flows: list[FlowDetail]
    invoke_url: str | None
    changed_since_deploy: bool


def instance_flow_details(instance: Instance) -> tuple[list[FlowDetail], str | None]:
    """Each flow of the instance with its webhook URL, API keys, schedule and next runs;
    and the shared endpoint's ``invokeUrl`` (None unless the integration has one)."""
    context = instance_webhook_context(instance) if instance.is_deployed else {}
    urls = context.get("webhookUrls", {})
    keys = context.get("webhookApiKeys", {})
    flows = []
    polls: dict[str, PollDetail] | None = None
    for flow in instance.integration.flows.all():
        schedule = None
        next_runs: list[datetime] = []
        variable = None
        if isinstance(flow.schedule, dict) and set(flow.schedule) == {"configVar"}:
            variable = flow.schedule["configVar"]
        if flow.schedule:
            schedule = schedule_resolve(flow.schedule, config_values=instance.config_values)
            if schedule is None and variable:
                # An instance saved without its values (the admin's add form) runs on the
                # variable's default once deployed, as config_values_clean fills it in.
                schedule = _schedule_default(instance, variable)
            if schedule:
                next_runs = schedule_next_runs(schedule)
        poll = None
        if flow.is_polling:
            if polls is None:  # read once, and only for an integration that polls
                polls = poll_details(instance)
            poll = polls.get(flow.name) or PollDetail()
        flows.append(
            FlowDetail(
                name=flow.name,
                trigger_type=flow.trigger_type,
                webhook_url=urls.get(flow.name),
                api_keys=keys.get(flow.name, []),
                schedule=schedule,
                next_runs=next_runs,
                schedule_variable=variable,
                poll=poll,
            )
        )
    return flows, context.get("invokeUrl")


def _schedule_default(instance: Instance, key: str) -> dict[str, Any] | None:
    variable = instance.integration.config_variables.filter(key=key).first()
    default = variable.default if variable is not None else None
    return default if isinstance(default, dict) else None


def instance_detail(instance: Instance) -> InstanceDetail:
    flows, invoke_url = instance_flow_details(instance)
    return InstanceDetail(
        instance=instance,
        config_values=instance.config_values_masked(),
        flows=flows,
        invoke_url=invoke_url,
        changed_since_deploy=instance_changed_since_deploy(instance),
    )
