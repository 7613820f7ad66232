"""Importing and exporting integration definitions.

One mapping turns a validated definition into rows (:func:`_rows_build`) and one turns rows
back into a definition (:func:`_rows_export`). Export omits every key that holds its
default, so ``definition_normalize(D)`` (rows built in memory, never saved) is exactly
what ``integration_export(integration_import(D))`` gives back.

Secrets (``secret`` variables' defaults, literal signing secrets) are sealed as rows are
built and left out of an export unless ``include_secrets`` is asked for (staff, through
``manage.py export_integration --include-secrets``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from integrations.config_values import config_value_clean
from integrations.definitions.errors import DefinitionError
from integrations.definitions.parsing import definition_parse
from integrations.definitions.schema import (
    DEFAULT_TOLERANCE_SECONDS,
    TIMESTAMPED_PRESETS,
    DefinitionSpec,
    FlowSpec,
    HmacGenericSpec,
    HmacPresetSpec,
)
from integrations.definitions.validation import definition_validate
from integrations.models import (
    ConfigVariable,
    ConfigVariableType,
    EndpointSecurity,
    EndpointType,
    Flow,
    Integration,
    QueueType,
    Step,
)
from integrations.secrets import hmac_settings_open, hmac_settings_seal

_Stored = TypeVar("_Stored")

# Two imports of one name may race for the same next version; the unique constraint stops
# the second, which then retries with the version after.
_VERSION_ATTEMPTS = 3
_RETRY_DEFAULTS = {"maxAttempts": 0, "delaySeconds": 60, "exponentialBackoff": False}


@dataclass
class _Rows:
    integration: Integration
    config_variables: list[ConfigVariable] = field(default_factory=list)
    flows: list[tuple[Flow, list[Step]]] = field(default_factory=list)


def integration_import(
    *, definition: dict | str | bytes, content_type: str | None = None
) -> Integration:
    """Validate a definition fully, then store it as the next version of its name:
    all rows in one transaction or none. Raises DefinitionError."""
    spec = _spec_read(definition, content_type)
    return _with_version_retries(lambda: _rows_save(_rows_build(spec)))


def _spec_read(definition: dict | str | bytes, content_type: str | None) -> DefinitionSpec:
    if isinstance(definition, str | bytes):
        definition = definition_parse(text=definition, content_type=content_type)
    return definition_validate(definition=definition)


def _with_version_retries(store: Callable[[], _Stored]) -> _Stored:
    """``store()`` in a transaction, again when a concurrent import took the version
    number it chose (the unique name + version index)."""
    for attempt in range(_VERSION_ATTEMPTS):
        try:
            with transaction.atomic():
                return store()
        except IntegrityError:
            if attempt == _VERSION_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class DefinitionImport:
    integration: Integration
    created: bool


def integration_import_if_changed(
    *, definition: dict | str | bytes, content_type: str | None = None
) -> DefinitionImport:
    """What the import surfaces (API, ``manage.py import_integration``) do: a definition
    identical to the newest version of its name (compared normalized, secrets included,
    so a changed secret counts) gives that version back with ``created=False``; any other
    is stored as the next version. ``integration_import`` always stores (fixtures, demo).
    Raises DefinitionError."""
    spec = _spec_read(definition, content_type)

    def store() -> DefinitionImport:
        # Locked, so two identical imports at once do not both see a change.
        newest = (
            Integration.objects.select_for_update()
            .filter(name=spec.name)
            .order_by("-version")
            .first()
        )
        rows = _rows_build(spec)
        if newest is not None and _rows_export(rows, include_secrets=True) == integration_export(
            integration=newest, include_secrets=True
        ):
            return DefinitionImport(integration=newest, created=False)
        return DefinitionImport(integration=_rows_save(rows), created=True)

    return _with_version_retries(store)


def integration_export(
    *, integration: Integration, include_secrets: bool = False
) -> dict[str, Any]:
    """The integration as a definition (SPEC §2), keys holding defaults left out. Without
    ``include_secrets``, secret variables have no ``default`` and literal signing secrets
    no ``secret`` (a reference to a config variable is kept)."""
    flows = integration.flows.order_by("position").prefetch_related("steps")
    return _rows_export(
        _Rows(
            integration=integration,
            config_variables=list(integration.config_variables.order_by("position")),
            flows=[(flow, sorted(flow.steps.all(), key=lambda s: s.position)) for flow in flows],
        ),
        include_secrets=include_secrets,
    )


def definition_normalize(*, definition: Any, include_secrets: bool = False) -> dict[str, Any]:
    """A definition as export would write it after importing it. Raises DefinitionError."""
    return _rows_export(
        _rows_build(definition_validate(definition=definition)), include_secrets=include_secrets
    )


def _rows_save(rows: _Rows) -> Integration:
    try:
        return _rows_write(rows)
    except ValidationError as error:
        # Validation should have caught it; if a model rule it does not know of fires,
        # answer as a definition error rather than a server error.
        raise DefinitionError(
            {"definition": "; ".join(f"{k}: {', '.join(v)}" for k, v in error.message_dict.items())}
        ) from error


def _rows_write(rows: _Rows) -> Integration:
    integration = rows.integration
    latest = Integration.objects.filter(name=integration.name).aggregate(Max("version"))
    integration.version = (latest["version__max"] or 0) + 1
    # Uniqueness is the database's job here (see _VERSION_ATTEMPTS); the children were
    # checked for duplicates during validation and point at rows made in this transaction.
    integration.full_clean(validate_constraints=False)
    integration.save(force_insert=True)
    for variable in rows.config_variables:
        variable.integration = integration
        variable.full_clean(exclude=["integration"], validate_constraints=False)
    ConfigVariable.objects.bulk_create(rows.config_variables)
    steps: list[Step] = []
    for flow, flow_steps in rows.flows:
        flow.integration = integration
        flow.full_clean(exclude=["integration"], validate_constraints=False)
        for step in flow_steps:
            step.flow = flow
            step.full_clean(exclude=["flow"], validate_constraints=False)
            steps.append(step)
    Flow.objects.bulk_create([flow for flow, _ in rows.flows])
    Step.objects.bulk_create(steps)
    return integration


def _rows_build(spec: DefinitionSpec) -> _Rows:
    routing = spec.routing
    rows = _Rows(
        integration=Integration(
            name=spec.name,
            description=spec.description,
            endpoint_type=spec.endpoint_type,
            rate_limit_per_second=spec.rate_limit_per_second,
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
        schedule=_schedule_store(trigger.schedule) if trigger.schedule is not None else None,
        response_status_code=response.status_code if response else None,
        response_content_type=response.content_type if response else "",
        response_headers=dict(response.headers) if response else {},
        response_body=response.body if response else "",
        queue_type=queue.type if queue else QueueType.PARALLEL,
        queue_concurrency_limit=queue.concurrency_limit if queue else None,
        queue_dedupe_id_field=(queue.dedupe_id_field or "") if queue else "",
        singleton=spec.singleton,
        retry_max_attempts=retry.max_attempts if retry else _RETRY_DEFAULTS["maxAttempts"],
        retry_delay_seconds=retry.delay_seconds if retry else _RETRY_DEFAULTS["delaySeconds"],
        retry_exponential_backoff=retry.exponential_backoff
        if retry
        else _RETRY_DEFAULTS["exponentialBackoff"],
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
        if preset.preset in TIMESTAMPED_PRESETS:
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


def _hmac_export(flow: Flow, include_secrets: bool) -> dict[str, Any]:
    stored = hmac_settings_open(flow.hmac, flow_id=flow.pk) if include_secrets else flow.hmac
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


def _schedule_store(schedule: dict[str, Any]) -> dict[str, Any]:
    """Stored (and exported) in a fixed key order; a cron schedule always names its zone."""
    if "cron" in schedule:
        return {"cron": schedule["cron"], "timeZone": schedule.get("timeZone") or "UTC"}
    if "configVar" in schedule:
        return {"configVar": schedule["configVar"]}
    return {"every": schedule["every"], "unit": schedule["unit"]}


def _number_export(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _rows_export(rows: _Rows, *, include_secrets: bool) -> dict[str, Any]:
    integration = rows.integration
    exported: dict[str, Any] = {"name": integration.name}
    if integration.description:
        exported["description"] = integration.description
    if integration.endpoint_type != EndpointType.FLOW_SPECIFIC:
        exported["endpointType"] = str(integration.endpoint_type)
    if integration.rate_limit_per_second is not None:
        exported["rateLimitPerSecond"] = integration.rate_limit_per_second
    routing = {}
    if integration.flow_name_field:
        routing["flowNameField"] = integration.flow_name_field
    if integration.external_customer_id_field:
        routing["externalCustomerIdField"] = integration.external_customer_id_field
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
        if value != _RETRY_DEFAULTS[key]
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
        trigger["hmac"] = _hmac_export(flow, include_secrets)
    if flow.schedule is not None:
        trigger["schedule"] = _schedule_store(flow.schedule)
    return trigger


def _step_export(step: Step) -> dict[str, Any]:
    exported: dict[str, Any] = {"name": step.name, "action": step.action}
    if step.inputs:
        exported["inputs"] = step.inputs
    return exported


def flow_export(*, flow: Flow, steps: list[Step], include_secrets: bool = False) -> dict[str, Any]:
    """One flow in definition form (the admin validates an edited flow with it)."""
    return _flow_export(flow, steps, include_secrets)
