"""What the wizard does and shows, on top of the instance and execution services.

Saving goes through ``instances.services`` (the same checks as the API and the admin);
what an instance page shows comes from the API's own code paths (``InstanceDetailSerializer``
for webhook URLs, keys, schedules and next runs), so the two surfaces cannot disagree.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction

from executions.codec import UndecodablePayload, unreadable_message
from executions.models import Execution, StepResult
from executions.results import step_result_load
from instances.models import Customer, Instance
from instances.services import (
    instance_config_update,
    instance_create,
    instance_deploy,
)
from integrations.models import Integration
from integrations.schedules import ScheduleError, schedule_describe, schedule_time_zone
from webui.schedule_picker import fire_time_display

HISTORY_LENGTH = 25
RESULT_PREVIEW_CHARACTERS = 20_000
MASK = "••••••••"


@transaction.atomic
def wizard_save(
    *,
    integration: Integration,
    customer: Customer,
    instance: Instance | None,
    name: str,
    config_values: dict[str, Any],
    deploy: bool,
) -> Instance:
    """Create or update an instance from the wizard, and deploy it if asked. All or
    nothing: a deploy that fails leaves the instance as it was (``ConfigValueError`` or
    ``InstanceStateError`` for the caller to show)."""
    if instance is None:
        instance = instance_create(
            integration=integration, customer=customer, name=name, config_values=config_values
        )
    else:
        if instance.name != name:
            instance.name = name
            instance.full_clean()
            instance.save(update_fields=["name", "updated_at"])
        instance = instance_config_update(instance=instance, config_values=config_values)
    if deploy:
        instance_deploy(instance=instance)
        instance.refresh_from_db()
    return instance


def key_mask(key: str) -> str:
    return f"{MASK}{key[-4:]}"


def curl_command(url: str, *, api_key: str | None) -> str:
    """A ready-to-run request: a JSON POST to the webhook URL (with its key, if any)."""
    parts = ["curl", "-X", "POST", shlex.quote(url), "-H", "'Content-Type: application/json'"]
    if api_key:
        parts += ["-H", shlex.quote(f"Api-Key: {api_key}")]
    parts += ["-d", shlex.quote('{"hello": "world"}')]
    return " ".join(parts)


@dataclass
class FlowView:
    name: str
    trigger_type: str
    webhook_url: str | None
    api_key_masks: list[str] = field(default_factory=list)
    curl_masked: str = ""
    schedule_description: str = ""
    next_runs: list[str] = field(default_factory=list)


def instance_flows(instance: Instance) -> list[FlowView]:
    """Each flow with its webhook URL, masked API keys, a curl command (key masked: the
    page reveals the key on request) and, for schedules, the next five fire times."""
    from api.serializers import InstanceDetailSerializer

    flows = []
    for data in InstanceDetailSerializer(instance).data["flows"]:
        keys = data["apiKeys"]
        view = FlowView(
            name=data["name"],
            trigger_type=data["triggerType"],
            webhook_url=data["webhookUrl"],
            api_key_masks=[key_mask(key) for key in keys],
        )
        if view.webhook_url:
            view.curl_masked = curl_command(
                view.webhook_url, api_key=key_mask(keys[0]) if keys else None
            )
        if data["schedule"]:
            try:
                view.schedule_description = schedule_describe(data["schedule"])
            except ScheduleError:
                view.schedule_description = "The schedule is not valid."
            # The API's ISO strings carry offsets only; shown in the schedule's own zone
            # so the abbreviation (CST/CDT) reads as the user wrote the schedule.
            zone = schedule_time_zone(data["schedule"])
            view.next_runs = [
                fire_time_display(datetime.fromisoformat(at).astimezone(zone))
                for at in data["nextRuns"]
            ]
        flows.append(view)
    return flows


def instance_flow_secrets(instance: Instance, flow_name: str) -> dict[str, Any]:
    """The real keys of one flow and the curl command with the first of them — sent only
    when the user asks to reveal them."""
    from triggers.endpoints import instance_webhook_context

    if not instance.is_deployed:
        return {"keys": [], "curl": ""}
    context = instance_webhook_context(instance)
    keys = context["webhookApiKeys"].get(flow_name, [])
    url = context["webhookUrls"].get(flow_name)
    return {
        "keys": keys,
        "curl": curl_command(url, api_key=keys[0] if keys else None) if url else "",
    }


def instance_history(instance: Instance, *, user) -> list[Execution]:
    """The latest executions; each carries ``payload_problem``: why its stored trigger
    payload cannot be read, or None (the row is listed either way)."""
    from webui.tenancy import executions_for_user

    executions = list(
        executions_for_user(user)
        .filter(instance=instance)
        .select_related("flow")
        .order_by("-created_at")[:HISTORY_LENGTH]
    )
    for execution in executions:
        execution.payload_problem = unreadable_message(execution.trigger_payload)
    return executions


def _preview_text(value: Any) -> str:
    if isinstance(value, UndecodablePayload):
        return value.message
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    try:
        text = json.dumps(
            value,
            indent=2,
            ensure_ascii=False,
            default=lambda o: f"<{len(o)} bytes>" if isinstance(o, bytes | bytearray) else str(o),
        )
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > RESULT_PREVIEW_CHARACTERS:
        return text[:RESULT_PREVIEW_CHARACTERS] + "\n… (cut short; the API has the whole result)"
    return text


@dataclass
class StepView:
    step: StepResult
    result_text: str

    @property
    def duration_seconds(self) -> float:
        return (self.step.ended_at - self.step.started_at).total_seconds()


def execution_steps(execution: Execution) -> list[StepView]:
    views = []
    for step in execution.steps.order_by("position"):
        try:
            text = _preview_text(step_result_load(step)) if step.status == "succeeded" else ""
        except OSError:
            text = "(the stored result could not be read)"
        views.append(StepView(step=step, result_text=text))
    return views
