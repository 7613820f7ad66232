"""Rows back into a definition (:func:`rows_export`): every key that holds its default
is left out, so exporting the rows ``rows_build`` made from a definition gives that
definition normalized. Secrets are left out unless ``include_secrets`` is asked for.
"""

from __future__ import annotations

from typing import Any

from integrations.definitions.rows import RETRY_DEFAULTS, DefinitionRows, schedule_store
from integrations.models import (
    ConfigVariable,
    ConfigVariableType,
    EndpointSecurity,
    EndpointType,
    Flow,
    PollOnDeploy,
    QueueType,
    Step,
)
from integrations.secrets import hmac_settings_open
from integrations.signatures import DEFAULT_TOLERANCE_SECONDS


def _hmac_export(hmac: dict[str, Any], flow: Flow, include_secrets: bool) -> dict[str, Any]:
    stored = hmac_settings_open(hmac, flow_id=flow.pk) if include_secrets else hmac
    secret = {"secret": stored["secret"]} if include_secrets or "{{" in stored["secret"] else {}
    if "preset" in stored:
        exported = {"preset": stored["preset"], **secret}
        tolerance = stored.get("toleranceSeconds")
        if tolerance is not None and tolerance != DEFAULT_TOLERANCE_SECONDS:
            exported["toleranceSeconds"] = tolerance
        return exported
    exported = {"header": stored["header"], "algorithm": stored["algorithm"], **secret}
    if stored.get("encoding", "hex") != "hex":
        exported["encoding"] = stored["encoding"]
    if stored.get("prefix"):
        exported["prefix"] = stored["prefix"]
    return exported


def _number_export(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def rows_export(rows: DefinitionRows, *, include_secrets: bool) -> dict[str, Any]:
    integration = rows.integration
    exported: dict[str, Any] = {"name": integration.name}
    if integration.description:
        exported["description"] = integration.description
    if integration.endpoint_type != EndpointType.FLOW_SPECIFIC:
        exported["endpointType"] = str(integration.endpoint_type)
    if integration.rate_limit_per_second is not None:
        exported["rateLimitPerSecond"] = integration.rate_limit_per_second
    retention: dict[str, Any] = {}
    if integration.retention_days is not None:
        retention["days"] = integration.retention_days
    if not integration.retention_store_payloads:
        retention["storePayloads"] = False
    if retention:
        exported["retention"] = retention
    routing = {
        key: value
        for key, value in (
            ("flowNameField", integration.flow_name_field),
            ("externalCustomerIdField", integration.external_customer_id_field),
        )
        if value
    }
    if routing:
        exported["routing"] = routing
    if rows.config_variables:
        exported["configVariables"] = [
            _config_variable_export(v, include_secrets) for v in rows.config_variables
        ]
    exported["flows"] = [_flow_export(flow, steps, include_secrets) for flow, steps in rows.flows]
    return exported


def _config_variable_export(variable: ConfigVariable, include_secrets: bool) -> dict[str, Any]:
    exported: dict[str, Any] = {"key": variable.key, "type": str(variable.type)}
    if variable.description:
        exported["description"] = variable.description
    if variable.options:
        exported["options"] = list(variable.options)
    hidden = variable.type == ConfigVariableType.SECRET and not include_secrets
    if variable.default is not None and not hidden:
        default = variable.default_opened()
        if isinstance(default, dict) and "scheduleType" in default:
            default = {k: default[k] for k in ("scheduleType", "value", "timeZone") if k in default}
        exported["default"] = default
    if variable.required:
        exported["required"] = True
    return exported


def _flow_export(flow: Flow, steps: list[Step], include_secrets: bool) -> dict[str, Any]:
    exported: dict[str, Any] = {"name": flow.name}
    if flow.description:
        exported["description"] = flow.description
    exported["trigger"] = _trigger_export(flow, include_secrets)
    queue: dict[str, Any] = {}
    if flow.queue_type != QueueType.PARALLEL or flow.queue_dedupe_id_field:
        queue["type"] = str(flow.queue_type)
    if flow.queue_concurrency_limit is not None:
        queue["concurrencyLimit"] = flow.queue_concurrency_limit
    if flow.queue_dedupe_id_field:
        queue["dedupeIdField"] = flow.queue_dedupe_id_field
    if queue:
        exported["queue"] = queue
    if flow.singleton:
        exported["singleton"] = True
    retry = {
        key: value
        for key, value in (
            ("maxAttempts", flow.retry_max_attempts),
            ("delaySeconds", flow.retry_delay_seconds),
            ("exponentialBackoff", flow.retry_exponential_backoff),
        )
        if value != RETRY_DEFAULTS[key]
    }
    if retry:
        exported["retry"] = retry
    if flow.sync_timeout_seconds is not None:
        exported["syncTimeoutSeconds"] = _number_export(flow.sync_timeout_seconds)
    exported["steps"] = [_step_export(step) for step in steps]
    return exported


def _trigger_export(flow: Flow, include_secrets: bool) -> dict[str, Any]:
    trigger: dict[str, Any] = {"type": flow.trigger_type}
    if flow.trigger_inputs:
        trigger["inputs"] = flow.trigger_inputs
    if flow.synchronous:
        trigger["synchronous"] = True
    if flow.response_status_code is not None:
        response: dict[str, Any] = {"statusCode": flow.response_status_code}
        if flow.response_content_type:
            response["contentType"] = flow.response_content_type
        if flow.response_headers:
            response["headers"] = flow.response_headers
        if flow.response_body:
            response["body"] = flow.response_body
        trigger["response"] = response
    if flow.endpoint_security != EndpointSecurity.CUSTOMER_OPTIONAL:
        trigger["endpointSecurity"] = str(flow.endpoint_security)
    if flow.hmac is not None:
        trigger["hmac"] = _hmac_export(flow.hmac, flow, include_secrets)
    if flow.schedule is not None:
        trigger["schedule"] = schedule_store(flow.schedule)
    if flow.poll_batch_size != 1:
        trigger["batchSize"] = flow.poll_batch_size
    if flow.poll_on_deploy != PollOnDeploy.SKIP:
        trigger["onDeploy"] = str(flow.poll_on_deploy)
    return trigger


def _step_export(step: Step) -> dict[str, Any]:
    exported: dict[str, Any] = {"name": step.name, "action": step.action}
    if step.inputs:
        exported["inputs"] = step.inputs
    return exported


def flow_export(*, flow: Flow, steps: list[Step], include_secrets: bool = False) -> dict[str, Any]:
    """One flow in definition form (the admin validates an edited flow with it)."""
    return _flow_export(flow, steps, include_secrets)
