"""A validated definition as unsaved rows (:func:`rows_build`): the one mapping from
definition to Integration, ConfigVariable, Flow and Step, which import saves and
``definition_normalize`` exports again without saving.

Secrets (``secret`` variables' defaults, literal signing secrets) are sealed as the rows
are built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from integrations.config_values import config_value_clean
from integrations.definitions.schema import (
    DefinitionSpec,
    FlowSpec,
    HmacGenericSpec,
    HmacPresetSpec,
)
from integrations.models import (
    ConfigVariable,
    Flow,
    Integration,
    PollOnDeploy,
    QueueType,
    Step,
)
from integrations.secrets import hmac_settings_seal
from integrations.signatures import DEFAULT_TOLERANCE_SECONDS, preset_is_timestamped

RETRY_DEFAULTS: dict[str, Any] = {"maxAttempts": 0, "delaySeconds": 60, "exponentialBackoff": False}


@dataclass
class DefinitionRows:
    integration: Integration
    config_variables: list[ConfigVariable] = field(default_factory=list)
    flows: list[tuple[Flow, list[Step]]] = field(default_factory=list)


def rows_build(spec: DefinitionSpec) -> DefinitionRows:
    routing = spec.routing
    rows = DefinitionRows(
        integration=Integration(
            name=spec.name,
            description=spec.description,
            endpoint_type=spec.endpoint_type,
            rate_limit_per_second=spec.rate_limit_per_second,
            retention_days=spec.retention.days if spec.retention else None,
            retention_store_payloads=spec.retention.store_payloads if spec.retention else True,
            flow_name_field=(routing.flow_name_field or "") if routing else "",
            external_customer_id_field=(routing.external_customer_id_field or "")
            if routing
            else "",
        )
    )
    for position, variable in enumerate(spec.config_variables):
        default = variable.default
        if default is not None:
            default = config_value_clean(
                value_type=variable.type, value=default, options=variable.options
            )
        row = ConfigVariable(
            integration=rows.integration,
            key=variable.key,
            type=variable.type,
            position=position,
            description=variable.description,
            default=default,
            required=variable.required,
            options=list(variable.options or []),
        )
        row.default = row.default_sealed()  # bulk_create skips save(), which would seal it
        rows.config_variables.append(row)
    for position, flow in enumerate(spec.flows):
        rows.flows.append((_flow_build(flow, position), _steps_build(flow)))
    return rows


def _flow_build(spec: FlowSpec, position: int) -> Flow:
    trigger, queue, retry, response = spec.trigger, spec.queue, spec.retry, spec.trigger.response
    flow = Flow(
        name=spec.name,
        position=position,
        description=spec.description,
        trigger_type=trigger.type,
        trigger_inputs=trigger.inputs,
        synchronous=trigger.synchronous,
        endpoint_security=trigger.endpoint_security,
        hmac=_hmac_store(trigger.hmac) if trigger.hmac is not None else None,
        schedule=schedule_store(trigger.schedule) if trigger.schedule is not None else None,
        poll_batch_size=trigger.batch_size or 1,
        poll_on_deploy=trigger.on_deploy or PollOnDeploy.SKIP,
        response_status_code=response.status_code if response else None,
        response_content_type=response.content_type if response else "",
        response_headers=dict(response.headers) if response else {},
        response_body=response.body if response else "",
        queue_type=queue.type if queue else QueueType.PARALLEL,
        queue_concurrency_limit=queue.concurrency_limit if queue else None,
        queue_dedupe_id_field=(queue.dedupe_id_field or "") if queue else "",
        singleton=spec.singleton,
        retry_max_attempts=retry.max_attempts if retry else RETRY_DEFAULTS["maxAttempts"],
        retry_delay_seconds=retry.delay_seconds if retry else RETRY_DEFAULTS["delaySeconds"],
        retry_exponential_backoff=retry.exponential_backoff
        if retry
        else RETRY_DEFAULTS["exponentialBackoff"],
        sync_timeout_seconds=spec.sync_timeout_seconds,
    )
    # bulk_create skips Flow.save(), which would seal a literal signing secret.
    flow.hmac = hmac_settings_seal(flow.hmac, flow_id=flow.pk)
    return flow


def _steps_build(spec: FlowSpec) -> list[Step]:
    return [
        Step(name=step.name, position=position, action=step.action, inputs=step.inputs)
        for position, step in enumerate(spec.steps)
    ]


def _hmac_store(settings: dict[str, Any]) -> dict[str, Any]:
    """Stored with every default filled in, so signature checks read one shape."""
    if "preset" in settings:
        preset = HmacPresetSpec.model_validate(settings)
        stored: dict[str, Any] = {"preset": preset.preset, "secret": preset.secret}
        if preset_is_timestamped(preset.preset):
            stored["toleranceSeconds"] = preset.tolerance_seconds or DEFAULT_TOLERANCE_SECONDS
        return stored
    generic = HmacGenericSpec.model_validate(settings)
    return {
        "header": generic.header,
        "algorithm": generic.algorithm,
        "secret": generic.secret,
        "encoding": generic.encoding,
        "prefix": generic.prefix,
    }


def schedule_store(schedule: dict[str, Any]) -> dict[str, Any]:
    """Stored (and exported) in a fixed key order; a cron schedule always names its zone."""
    if "cron" in schedule:
        return {"cron": schedule["cron"], "timeZone": schedule.get("timeZone") or "UTC"}
    if "configVar" in schedule:
        return {"configVar": schedule["configVar"]}
    return {"every": schedule["every"], "unit": schedule["unit"]}
