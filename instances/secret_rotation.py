"""Re-sealing every stored secret under the first ``TRIGGERFISH_SECRETS_KEY`` key, so the
older keys can then be dropped (``manage.py rotate_secrets_key``; docs/operations.md)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from instances.models import Instance
from integrations.models import ConfigVariable, ConfigVariableType, Flow
from integrations.secrets import (
    flow_hmac_context,
    instance_value_context,
    secret_looks_sealed,
    secret_reseal,
    variable_default_context,
)


@dataclass
class Rotation:
    resealed: int = 0
    # Sealed-looking values no configured key opens: sealed under a key already dropped.
    unreadable: int = 0


def _reseal(value, context: str, rotation: Rotation):
    resealed, done = secret_reseal(value, context=context)
    if done:
        rotation.resealed += 1
    elif secret_looks_sealed(value):
        rotation.unreadable += 1
    return resealed


@transaction.atomic
def stored_secrets_reseal() -> Rotation:
    """Every secret config value, secret default and literal signing secret sealed again
    under the first key. Values stay the same; only their sealing changes."""
    rotation = Rotation()
    for variable in ConfigVariable.objects.filter(type=ConfigVariableType.SECRET).exclude(
        default__isnull=True
    ):
        context = variable_default_context(variable.integration_id, variable.key)
        variable.default = _reseal(variable.default, context, rotation)
        variable.save(update_fields=["default"])
    for flow in Flow.objects.filter(hmac__isnull=False):
        hmac_settings = flow.hmac or {}
        secret = hmac_settings.get("secret")
        if isinstance(secret, str):
            flow.hmac = {
                **hmac_settings,
                "secret": _reseal(secret, flow_hmac_context(flow.pk), rotation),
            }
            flow.save(update_fields=["hmac"])
    for instance in Instance.objects.all():
        instance.config_values = _values_reseal(instance, instance.config_values, rotation)
        if instance.pending_config_values is not None:
            # Staged values are applied by the next deploy, perhaps after the old key is gone.
            instance.pending_config_values = _values_reseal(
                instance, instance.pending_config_values, rotation
            )
        instance.save(update_fields=["config_values", "pending_config_values"])
    return rotation


def _values_reseal(instance: Instance, values: dict | None, rotation: Rotation) -> dict:
    return {
        key: _reseal(value, instance_value_context(instance.pk, key), rotation)
        for key, value in (values or {}).items()
    }
