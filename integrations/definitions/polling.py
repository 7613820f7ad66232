"""Import checks of polling triggers (SPEC §8), each error at the field it is about.

A polling flow has no endpoint: nothing calls it, so a synchronous answer, a custom
response, an endpoint security or signature setting cannot apply and is refused rather
than ignored. Its inputs are checked against what the trigger declares (unknown names,
required ones missing, and the trigger's own ``inputs_check``, e.g. ``http.poll``'s
``cursorPath`` / ``cursorItemField`` exclusivity).
"""

from __future__ import annotations

from typing import Any

from integrations.components.registry import PollingTrigger
from integrations.definitions.errors import ErrorCollector

BATCH_SIZES = range(1, 101)

# Trigger settings that belong to a webhook endpoint, by the attribute the schema gives
# them and the key the definition writes.
_ENDPOINT_SETTINGS = (
    ("synchronous", "synchronous"),
    ("response", "response"),
    ("endpoint_security", "endpointSecurity"),
    ("hmac", "hmac"),
)


def polling_trigger_check(
    trigger: Any, polling: PollingTrigger, path: str, errors: ErrorCollector
) -> None:
    """Everything but the schedule, which the caller checks as for any scheduled flow."""
    for attribute, key in _ENDPOINT_SETTINGS:
        if attribute in trigger.model_fields_set and getattr(trigger, attribute) not in (
            None,
            False,
        ):
            errors.add(
                f"{path}.{key}",
                f"A polling trigger ({polling.key}) has no webhook endpoint, so it takes no {key}.",
            )
    if trigger.batch_size is not None and trigger.batch_size not in BATCH_SIZES:
        errors.add(f"{path}.batchSize", "batchSize must be from 1 to 100 (items per execution).")
    declared = {item.name: item for item in polling.inputs}
    for name in trigger.inputs:
        if name not in declared:
            errors.add(
                f"{path}.inputs.{name}",
                f"Unknown input {name!r} of {polling.key}; it takes {', '.join(declared)}.",
            )
    for item in polling.inputs:
        if item.required and trigger.inputs.get(item.name) in (None, ""):
            errors.add(f"{path}.inputs.{item.name}", f"{polling.key} needs {item.name}.")
    if polling.inputs_check is not None:
        for name, message in polling.inputs_check(trigger.inputs).items():
            errors.add(f"{path}.inputs.{name}", message)


def polling_settings_refused(trigger: Any, path: str, errors: ErrorCollector) -> None:
    """``batchSize`` and ``onDeploy`` on a trigger that does not poll."""
    for attribute, key in (("batch_size", "batchSize"), ("on_deploy", "onDeploy")):
        if getattr(trigger, attribute) is not None:
            errors.add(f"{path}.{key}", f"Only polling triggers (such as http.poll) take {key}.")
