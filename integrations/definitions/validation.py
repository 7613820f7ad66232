"""Validating a parsed definition: shape first (pydantic), then the rules that span fields.

Every problem is collected with its path (``flows[0].trigger.schedule.cron``) and raised
together as one DefinitionError, so an author fixes a file in one pass. The cross-field
rules run only once the shape is right: they would otherwise report the same typo twice.
"""

from __future__ import annotations

import hashlib
import hmac as hmac_module
from collections.abc import Iterable
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from integrations.components.registry import get_action, get_polling_trigger, get_trigger
from integrations.config_values import config_value_clean, json_problems
from integrations.definitions.errors import DefinitionError, ErrorCollector, path_format
from integrations.definitions.polling import polling_settings_refused, polling_trigger_check
from integrations.definitions.schema import (
    DefinitionSpec,
    FlowSpec,
    HmacGenericSpec,
    HmacPresetSpec,
)
from integrations.models import TriggerType
from integrations.schedules import ScheduleError, schedule_validate
from integrations.signatures import preset_is_timestamped

BUILTIN_TRIGGERS = {choice.value for choice in TriggerType}
WEBHOOK_TRIGGERS = {TriggerType.WEBHOOK.value, TriggerType.HMAC_WEBHOOK.value}
PAYLOAD_PATH_PREFIXES = ("headers.", "body.data.", "queryParameters.")
THROTTLE_LIMITS = range(2, 16)


def definition_validate(*, definition: Any) -> DefinitionSpec:
    """The validated definition, or DefinitionError listing every problem found."""
    errors = ErrorCollector()
    if not isinstance(definition, dict):
        raise DefinitionError({"definition": "A definition must be a mapping (name, flows, ...)."})
    for location, message in json_problems(definition):
        errors.add(path_format(location), message)
    errors.raise_if_any()
    try:
        spec = DefinitionSpec.model_validate(definition)
    except ValidationError as error:
        _collect_pydantic(errors, error, model=DefinitionSpec)
        errors.raise_if_any()
    _check_definition(spec, errors)
    errors.raise_if_any()
    return spec


def _collect_pydantic(
    errors: ErrorCollector,
    error: ValidationError,
    *,
    model: type[BaseModel],
    prefix: tuple[str | int, ...] = (),
) -> None:
    for item in error.errors(include_url=False):
        location = tuple(item["loc"])
        if item["type"] == "extra_forbidden":
            allowed = _keys_at(model, location[:-1])
            message = f"Unknown key {location[-1]!r}."
            if allowed:
                message += f" Allowed here: {', '.join(allowed)}."
        elif item["type"] == "missing":
            message = "This key is required."
        elif item["type"] == "too_short" and location == ("flows",):
            message = "A definition needs at least one flow."
        else:
            message = item["msg"].rstrip(".") + "."
        errors.add(path_format((*prefix, *location)), message)


def _keys_at(model: type[BaseModel], location: tuple[str | int, ...]) -> list[str]:
    """The keys a definition may use at ``location`` (to suggest them for a typo)."""
    current: Any = model
    for part in location:
        if isinstance(part, int):
            continue
        field = next(
            (f for name, f in current.model_fields.items() if (f.alias or name) == part), None
        )
        if field is None:
            return []
        current = _model_in(field.annotation)
        if current is None:
            return []
    return [field.alias or name for name, field in current.model_fields.items()]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) is not None or get_args(annotation):
        for argument in get_args(annotation):
            found = _model_in(argument)
            if found is not None:
                return found
    return None


def _duplicates(names: Iterable[str]) -> dict[int, int]:
    """Index of each repeated name -> index of its first use."""
    first: dict[str, int] = {}
    repeated: dict[int, int] = {}
    for index, name in enumerate(names):
        if name in first:
            repeated[index] = first[name]
        else:
            first[name] = index
    return repeated


def _check_definition(spec: DefinitionSpec, errors: ErrorCollector) -> None:
    if not spec.name.strip():
        errors.add("name", "The name may not be blank.")
    schedule_keys = set()
    for index, variable in enumerate(spec.config_variables):
        _check_config_variable(variable, f"configVariables[{index}]", errors)
        if variable.type == "schedule":
            schedule_keys.add(variable.key)
    for index, first in _duplicates(v.key for v in spec.config_variables).items():
        errors.add(
            f"configVariables[{index}].key",
            f"Duplicate config variable key (also configVariables[{first}]).",
        )
    for index, first in _duplicates(f.name for f in spec.flows).items():
        errors.add(f"flows[{index}].name", f"Duplicate flow name (also flows[{first}]).")
    webhook_flows = 0
    for index, flow in enumerate(spec.flows):
        if _check_flow(flow, index, errors, schedule_keys=schedule_keys):
            webhook_flows += 1
    _check_routing(spec, errors, webhook_flows=webhook_flows)


def _check_config_variable(variable: Any, path: str, errors: ErrorCollector) -> None:
    if not variable.key.strip():
        errors.add(f"{path}.key", "The key may not be blank.")
    if variable.type == "picklist":
        if not variable.options:
            errors.add(f"{path}.options", "A picklist needs a non-empty list of options.")
        else:
            for index, first in _duplicates(variable.options).items():
                errors.add(f"{path}.options[{index}]", f"Duplicate option (also options[{first}]).")
    elif variable.options is not None:
        errors.add(f"{path}.options", "Only picklist variables take options.")
    if variable.default is not None and (variable.type != "picklist" or variable.options):
        try:
            config_value_clean(
                value_type=variable.type, value=variable.default, options=variable.options
            )
        except ValueError as error:
            errors.add(f"{path}.default", f"Default does not fit type {variable.type}: {error}")


def _check_flow(
    flow: FlowSpec, index: int, errors: ErrorCollector, *, schedule_keys: set[str]
) -> bool:
    """Check one flow; True when a webhook can start it (for the routing rules)."""
    path = f"flows[{index}]"
    if not flow.name.strip():
        errors.add(f"{path}.name", "The name may not be blank.")
    webhook_capable = _check_trigger(
        flow.trigger, ("flows", index, "trigger"), errors, schedule_keys=schedule_keys
    )
    for index, step in enumerate(flow.steps):
        if not step.name.strip():
            errors.add(f"{path}.steps[{index}].name", "The name may not be blank.")
        if get_action(step.action) is None:
            errors.add(
                f"{path}.steps[{index}].action",
                f"Unknown action {step.action!r}; use a registered <component>.<action> "
                "key such as http.request.",
            )
    for index, first in _duplicates(s.name for s in flow.steps).items():
        errors.add(f"{path}.steps[{index}].name", f"Duplicate step name (also steps[{first}]).")
    queue = flow.queue
    if queue is not None:
        if queue.type == "throttled":
            if queue.concurrency_limit not in THROTTLE_LIMITS:
                errors.add(
                    f"{path}.queue.concurrencyLimit",
                    "A throttled queue needs a concurrencyLimit from 2 to 15.",
                )
        elif queue.concurrency_limit is not None:
            errors.add(
                f"{path}.queue.concurrencyLimit", "Only a throttled queue takes a concurrencyLimit."
            )
        if queue.type == "sequential" and flow.trigger.synchronous:
            errors.add(
                f"{path}.queue.type",
                "A sequential (FIFO) queue cannot be combined with a synchronous response "
                "(trigger.synchronous: true): a caller would wait behind every queued run.",
            )
        if queue.dedupe_id_field is not None:
            _check_payload_path(queue.dedupe_id_field, f"{path}.queue.dedupeIdField", errors)
    if flow.singleton and flow.trigger.schedule is None:
        errors.add(f"{path}.singleton", "Only flows with a schedule can be singletons.")
    return webhook_capable


def _check_trigger(
    trigger: Any,
    location: tuple[str | int, ...],
    errors: ErrorCollector,
    *,
    schedule_keys: set[str],
) -> bool:
    path = path_format(location)
    kind = trigger.type
    polling = get_polling_trigger(kind)
    if polling is not None:
        polling_trigger_check(trigger, polling, path, errors)
        if trigger.schedule is None:
            errors.add(f"{path}.schedule", f"A polling trigger ({kind}) needs a schedule.")
        else:
            _check_schedule(
                trigger.schedule, f"{path}.schedule", errors, schedule_keys=schedule_keys
            )
        return False
    polling_settings_refused(trigger, path, errors)
    component = None
    if kind not in BUILTIN_TRIGGERS:
        component = get_trigger(kind)
        if component is None:
            errors.add(
                f"{path}.type",
                f"Unknown trigger type {kind!r}; use one of {', '.join(sorted(BUILTIN_TRIGGERS))} "
                "or a registered <component>.<trigger>.",
            )
            return True
    webhook_capable = kind in WEBHOOK_TRIGGERS or bool(component and component.webhook_support)

    if kind == TriggerType.HMAC_WEBHOOK:
        if trigger.hmac is None:
            errors.add(f"{path}.hmac", "An hmac_webhook trigger needs hmac settings.")
        else:
            _check_hmac(trigger.hmac, (*location, "hmac"), errors)
    elif trigger.hmac is not None:
        errors.add(f"{path}.hmac", "Only hmac_webhook triggers take hmac settings.")

    if trigger.schedule is None:
        if kind == TriggerType.SCHEDULE:
            errors.add(f"{path}.schedule", "A schedule trigger needs a schedule.")
        elif component is not None and not component.webhook_support:
            errors.add(
                f"{path}.schedule",
                f"Trigger {kind!r} cannot be started by a webhook, so it needs a schedule."
                if component.schedule_support
                else f"Trigger {kind!r} can be started neither by a webhook nor a schedule.",
            )
    elif component is not None and not component.schedule_support:
        errors.add(
            f"{path}.schedule", f"Trigger {kind!r} is webhook-only; it cannot run on a schedule."
        )
    elif component is None and kind != TriggerType.SCHEDULE:
        errors.add(
            f"{path}.schedule",
            f"A {kind} trigger takes no schedule; use type: schedule (or a schedule-capable "
            "component trigger).",
        )
    else:
        _check_schedule(trigger.schedule, f"{path}.schedule", errors, schedule_keys=schedule_keys)

    if trigger.inputs and component is None:
        errors.add(f"{path}.inputs", "Only component triggers take inputs.")
    if trigger.synchronous:
        if not webhook_capable:
            errors.add(f"{path}.synchronous", "Only webhook triggers can answer synchronously.")
        elif component is not None and not component.synchronous_response_support:
            errors.add(
                f"{path}.synchronous", f"Trigger {kind!r} does not support synchronous responses."
            )
    if trigger.response is not None and not webhook_capable:
        errors.add(f"{path}.response", "Only webhook triggers send a response.")
    return webhook_capable


def _check_schedule(
    schedule: dict[str, Any], path: str, errors: ErrorCollector, *, schedule_keys: set[str]
) -> None:
    if "scheduleType" in schedule:
        # The value form belongs to config variables; a trigger names one with configVar.
        errors.add(
            f"{path}.scheduleType",
            "Use {every, unit}, {cron, timeZone} or {configVar} here; "
            "{scheduleType, value, timeZone} is a config variable's value.",
        )
        return
    try:
        schedule_validate(schedule)
    except ScheduleError as error:
        errors.add(f"{path}.{error.field}" if error.field else path, str(error))
        return
    key = schedule.get("configVar")
    if key is not None and key not in schedule_keys:
        errors.add(
            f"{path}.configVar",
            f"{key!r} is not a config variable of type schedule in this definition.",
        )


def _check_hmac(
    settings: dict[str, Any], location: tuple[str | int, ...], errors: ErrorCollector
) -> None:
    path = path_format(location)
    model = HmacPresetSpec if "preset" in settings else HmacGenericSpec
    try:
        parsed = model.model_validate(settings)
    except ValidationError as error:
        _collect_pydantic(errors, error, model=model, prefix=location)
        return
    if isinstance(parsed, HmacGenericSpec):
        if not hmac_algorithm_usable(parsed.algorithm):
            errors.add(
                f"{path}.algorithm",
                f"{parsed.algorithm!r} is not an HMAC-capable hashlib algorithm "
                "(e.g. sha256, sha512, sha1).",
            )
    elif parsed.tolerance_seconds is not None and not preset_is_timestamped(parsed.preset):
        errors.add(
            f"{path}.toleranceSeconds",
            f"{parsed.preset} does not sign a timestamp, so no tolerance applies.",
        )


def hmac_algorithm_usable(name: str) -> bool:
    if name not in hashlib.algorithms_available:
        return False
    try:
        hmac_module.new(b"key", b"message", name).digest()
    except (ValueError, TypeError):
        # e.g. shake_128: its digest needs a length, so HMAC cannot use it.
        return False
    return True


def _check_payload_path(value: str, path: str, errors: ErrorCollector) -> None:
    if not value.startswith(PAYLOAD_PATH_PREFIXES) or value.endswith("."):
        errors.add(
            path,
            "A payload path starts with headers., body.data. or queryParameters. "
            "(e.g. headers.x-acme-flow).",
        )
    elif value.startswith("headers.") and value != value.lower():
        errors.add(path, "Header names are matched in lower case; write them in lower case.")


def _check_routing(spec: DefinitionSpec, errors: ErrorCollector, *, webhook_flows: int) -> None:
    routing = spec.routing
    flow_field = routing.flow_name_field if routing else None
    customer_field = routing.external_customer_id_field if routing else None
    if spec.endpoint_type == "flow_specific":
        if routing is not None:
            errors.add(
                "routing",
                "Routing applies only to instance_specific and shared_instance endpoints; "
                "a flow_specific endpoint's token names its flow.",
            )
        return
    if flow_field is None and (spec.endpoint_type == "shared_instance" or webhook_flows > 1):
        errors.add(
            "routing.flowNameField",
            "A shared_instance integration needs routing.flowNameField to choose the flow."
            if spec.endpoint_type == "shared_instance"
            else f"An instance_specific integration with {webhook_flows} webhook flows needs "
            "routing.flowNameField to choose the flow.",
        )
    if spec.endpoint_type == "shared_instance":
        if customer_field is None:
            errors.add(
                "routing.externalCustomerIdField",
                "A shared_instance integration needs routing.externalCustomerIdField "
                "to choose the customer.",
            )
    elif customer_field is not None:
        errors.add(
            "routing.externalCustomerIdField",
            "Only shared_instance integrations choose the customer from the payload.",
        )
    if flow_field is not None:
        _check_payload_path(flow_field, "routing.flowNameField", errors)
    if customer_field is not None:
        _check_payload_path(customer_field, "routing.externalCustomerIdField", errors)
