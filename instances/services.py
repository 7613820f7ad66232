"""Business operations on customers, instances and API keys: create, update, config
values, keys. What starts or stops an instance's triggers and runs (deploy, pause, enable,
remove) is ``instances.lifecycle``, above this module.
"""

from __future__ import annotations

import json
from typing import Any

from django.utils.crypto import salted_hmac

from instances.errors import InstanceStateError
from instances.models import ApiKey, Customer, Instance
from integrations.config_values import ConfigValueError, config_values_clean
from integrations.models import Integration
from integrations.secrets import instance_value_context, secret_open_if_sealed


def customer_create(*, name: str, external_id: str) -> Customer:
    customer = Customer(name=name, external_id=external_id)
    customer.full_clean()
    customer.save()
    return customer


def instance_create(
    *,
    integration: Integration,
    customer: Customer,
    name: str,
    config_values: dict[str, Any] | None = None,
) -> Instance:
    """A new, not yet deployed instance. Config values are checked against the
    integration's variables (``ConfigValueError`` names each bad key)."""
    cleaned = config_values_clean(integration=integration, values=config_values or {})
    instance = Instance(
        integration=integration, customer=customer, name=name, config_values=cleaned
    )
    instance.full_clean()
    instance.save()
    return instance


def instance_update(
    *,
    instance: Instance,
    name: str | None = None,
    config_values: dict[str, Any] | None = None,
) -> Instance:
    """Change an instance's name and/or some of its config values: only the keys given
    change (a secret left out keeps its stored value), and the result is checked as on
    create (``ConfigValueError`` names each bad key; nothing is saved then).

    The name changes at once (it is a label). Config values of a deployed instance are
    staged in ``pending_config_values`` and take effect at the next deploy, so runs and
    schedules keep the live ones until then (SPEC §5); an instance never deployed has
    nothing live, so its values are written directly."""
    instance_ensure_live(instance)
    if config_values is not None:
        if not isinstance(config_values, dict):
            raise ConfigValueError({"": "Config values must be a mapping of key to value."})
        cleaned = config_values_clean(
            integration=instance.integration,
            values={**instance.shown_config_values, **config_values},
        )
        if instance.is_deployed:
            instance.pending_config_values = cleaned
        else:
            instance.config_values = cleaned
    if name is not None:
        instance.name = name
    instance.full_clean()
    instance.save(update_fields=["name", "config_values", "pending_config_values", "updated_at"])
    return instance


def _stored_values_opened(instance: Instance, values: dict[str, Any]) -> dict[str, Any]:
    return {
        key: secret_open_if_sealed(value, context=instance_value_context(instance.pk, key))
        for key, value in values.items()
    }


def instance_settings_fingerprint(instance: Instance) -> str:
    """A keyed hash of the name and the config values a deploy would apply now (the staged
    ones if any; secrets opened, so re-sealing under a rotated key changes nothing)."""
    settings_text = json.dumps(
        {
            "name": instance.name,
            "configValues": _stored_values_opened(instance, instance.shown_config_values),
        },
        sort_keys=True,
        default=str,
    )
    return salted_hmac("instance-settings", settings_text, algorithm="sha256").hexdigest()


def instance_changed_since_deploy(instance: Instance) -> bool:
    """Whether the name differs from what the last deploy applied, or config values are
    staged that differ from the live ones. False for an instance never deployed, and for
    one deployed before fingerprints were kept."""
    if not instance.is_deployed or not instance.deployed_fingerprint:
        return False
    return instance_settings_fingerprint(instance) != instance.deployed_fingerprint


def instance_ensure_live(instance: Instance) -> None:
    if instance.removed_at is not None:
        raise InstanceStateError("The instance has been removed.")


def api_key_add(*, instance: Instance, flow_name: str, label: str = "") -> ApiKey:
    instance_ensure_live(instance)
    if not instance.integration.flows.filter(name=flow_name).exists():
        raise InstanceStateError(f"The integration has no flow named {flow_name!r}.")
    return ApiKey.objects.create(instance=instance, flow_name=flow_name, label=label)


def api_key_revoke(*, instance: Instance, flow_name: str, key: str) -> bool:
    deleted, _ = ApiKey.objects.filter(instance=instance, flow_name=flow_name, key=key).delete()
    return deleted > 0


def organization_api_key_add(*, label: str = "") -> ApiKey:
    return ApiKey.objects.create(instance=None, flow_name="", label=label)
