"""The gate between accepting a request and running its flow: a flow's signature check
(``hmac_webhook``) or its component trigger's ``perform``.

Both run in the web request. A refusal is answered 401 (or the status the component
chose) and recorded as a failed execution with the reason, so the deployment team sees
refused deliveries in the admin; the secret never appears in the reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from executions.run_definitions import config_vars_for
from executions.services import identity_fields
from instances.models import Instance
from integrations.components.context import InputError, StateAccess, action_inputs_prepare
from integrations.components.registry import Trigger, get_trigger
from integrations.components.triggers import (
    TriggerContext,
    TriggerRejected,
    TriggerResponse,
    TriggerResult,
)
from integrations.models import Flow
from integrations.references import TemplateError, resolve_inputs
from integrations.secrets import SecretError, hmac_settings_open
from integrations.signatures import SignatureError, Verified, signature_verify
from state.buffer import StateBuffer, StateError, StateOwner
from state.services import state_buffer_open

logger = logging.getLogger(__name__)


class TriggerRefused(Exception):
    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class GateOutcome:
    payload: dict[str, Any]
    response: TriggerResponse | None = None
    run: bool = True
    delivery_id: str | None = None
    # A component trigger's state writes, saved with the execution the request stores.
    state: StateBuffer | None = None


def _identity(instance: Instance, flow: Flow) -> dict[str, Any]:
    return identity_fields(instance=instance, flow=flow)


def _settings_resolve(settings: dict[str, Any], instance: Instance, flow: Flow) -> dict[str, Any]:
    """Secrets and trigger inputs may reference config variables:
    ``secret: "{{ configVars['Signing Secret'] }}"``."""
    scope = {
        **_identity(instance, flow),
        "configVars": config_vars_for(integration=instance.integration, instance=instance),
    }
    try:
        return resolve_inputs(settings, scope)
    except TemplateError as error:
        raise TriggerRefused(f"The trigger's settings could not be resolved: {error}") from error


def hmac_check(
    *, instance: Instance, flow: Flow, raw_body: bytes, headers: dict[str, str]
) -> Verified:
    """Verify the exact request bytes against the flow's ``hmac`` settings."""
    try:
        stored = hmac_settings_open(flow.hmac, flow_id=flow.pk)
    except SecretError as error:
        # Sealed under a key no longer configured: an operator's problem, said as such.
        logger.error("Flow %s: its signing secret does not open: %s", flow.pk, error)
        raise TriggerRefused("The signing secret could not be read.") from error
    settings = _settings_resolve(stored, instance, flow)
    if not isinstance(settings.get("secret"), str) or not settings["secret"]:
        raise TriggerRefused("The signing secret is not configured.")
    try:
        return signature_verify(settings=settings, body=raw_body, headers=headers)
    except SignatureError as error:
        raise TriggerRefused(f"Signature verification failed: {error}") from error


def trigger_params(*, instance: Instance, flow: Flow, trigger: Trigger) -> dict[str, Any]:
    """The trigger's inputs, resolved against the instance and checked against the
    trigger's declared inputs."""
    try:
        return action_inputs_prepare(
            action=trigger, inputs=_settings_resolve(flow.trigger_inputs or {}, instance, flow)
        )
    except InputError as error:
        raise TriggerRefused(f"The trigger's settings are incomplete: {error}") from error


def trigger_context(
    *,
    instance: Instance,
    flow: Flow,
    webhook_urls: dict[str, str],
    state: StateBuffer | None = None,
) -> TriggerContext:
    identity = _identity(instance, flow)
    return TriggerContext(
        state=state.access() if state is not None else StateAccess(),
        instance=identity["instance"],
        customer=identity["customer"],
        integration=identity["integration"],
        flow=identity["flow"],
        config_vars=config_vars_for(integration=instance.integration, instance=instance),
        webhook_urls=webhook_urls,
    )


def component_trigger_run(
    *, instance: Instance, flow: Flow, payload: dict[str, Any], webhook_urls: dict[str, str]
) -> GateOutcome:
    trigger = get_trigger(flow.trigger_type)
    if trigger is None:
        raise TriggerRefused(f"Unknown trigger {flow.trigger_type!r}.", status=404)
    params = trigger_params(instance=instance, flow=flow, trigger=trigger)
    # Its snapshot is read only if the trigger touches state.
    state = state_buffer_open(
        owner=StateOwner(
            instance_id=instance.pk, flow_name=flow.name, integration_name=instance.integration.name
        )
    )
    context = trigger_context(instance=instance, flow=flow, webhook_urls=webhook_urls, state=state)
    try:
        result = trigger.perform(context, payload, params)
    except TriggerRejected as error:
        raise TriggerRefused(str(error), status=error.status) from error
    except StateError as error:  # a limit, or a value that is not JSON: said as it is
        raise TriggerRefused(
            f"The trigger could not process the request: {error}", status=400
        ) from error
    except Exception as error:
        # A component's bug must not become a 500 for the caller; the reason is recorded.
        logger.exception("Trigger %s failed", trigger.key)
        raise TriggerRefused(
            f"The trigger could not process the request: {type(error).__name__}", status=400
        ) from error
    if result is None:
        return GateOutcome(payload=payload, state=state)
    if isinstance(result, dict):
        return GateOutcome(payload=result, state=state)
    if isinstance(result, TriggerResult):
        return GateOutcome(
            payload=result.payload, response=result.response, run=result.run, state=state
        )
    raise TypeError(f"Trigger {trigger.key} returned {type(result).__name__}")
