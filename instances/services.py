"""Business operations on customers, instances and API keys.

Deploy and remove are the lifecycle of an instance: deploy creates its endpoints and keys
(and, through the schedule sync, its periodic tasks) and then runs the integration's
``instance_deploy`` flows; remove runs ``instance_remove`` flows first, with the webhook
URLs still in their payload, then takes everything down.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from executions.models import Execution, TriggerKind
from executions.services import execution_create
from instances.endpoints import instance_webhook_context
from instances.errors import InstanceStateError
from instances.models import ApiKey, Customer, Endpoint, Instance
from integrations.config_values import ConfigValueError
from integrations.models import EndpointSecurity, EndpointType, Integration, TriggerType
from integrations.secrets import instance_value_context, secret_open_if_sealed

logger = logging.getLogger(__name__)


def customer_create(*, name: str, external_id: str) -> Customer:
    customer = Customer(name=name, external_id=external_id)
    customer.full_clean()
    customer.save()
    return customer


def _config_values_clean(integration: Integration, values: dict[str, Any]) -> dict[str, Any]:
    from integrations.config_values import config_values_clean

    return config_values_clean(integration=integration, values=values)


def instance_create(
    *,
    integration: Integration,
    customer: Customer,
    name: str,
    config_values: dict[str, Any] | None = None,
) -> Instance:
    """A new, not yet deployed instance. Config values are checked against the
    integration's variables (``ConfigValueError`` names each bad key)."""
    cleaned = _config_values_clean(integration, config_values or {})
    instance = Instance(
        integration=integration, customer=customer, name=name, config_values=cleaned
    )
    instance.full_clean()
    instance.save()
    return instance


def instance_config_update(*, instance: Instance, config_values: dict[str, Any]) -> Instance:
    """Replace config values; a deployed instance's schedules follow the new values."""
    _ensure_live(instance)
    instance.config_values = _config_values_clean(instance.integration, config_values)
    instance.save(update_fields=["config_values", "updated_at"])
    if instance.is_deployed:
        _schedules_sync(instance)
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
    _ensure_live(instance)
    if config_values is not None:
        if not isinstance(config_values, dict):
            raise ConfigValueError({"": "Config values must be a mapping of key to value."})
        cleaned = _config_values_clean(
            instance.integration, {**instance.shown_config_values, **config_values}
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


def latest_version(integration: Integration) -> Integration:
    return (
        Integration.objects.filter(name=integration.name).order_by("-version").first()
        or integration
    )


def _ensure_live(instance: Instance) -> None:
    if instance.removed_at is not None:
        raise InstanceStateError("The instance has been removed.")


def _endpoints_sync(instance: Instance) -> None:
    """Give the instance exactly the endpoints its integration's endpoint type calls for.
    Existing tokens are kept: third parties have registered them."""
    integration = instance.integration
    endpoint_type = integration.endpoint_type
    webhook_flow_names = [f.name for f in integration.flows.all() if f.is_webhook]

    if endpoint_type == EndpointType.FLOW_SPECIFIC:
        wanted = set(webhook_flow_names)
    elif endpoint_type == EndpointType.INSTANCE_SPECIFIC:
        wanted = {""} if webhook_flow_names else set()
    else:
        wanted = set()
        Endpoint.objects.get_or_create(
            integration_name=integration.name,
            instance=None,
            defaults={"endpoint_type": EndpointType.SHARED_INSTANCE},
        )

    instance.endpoints.exclude(flow_name__in=wanted).delete()
    existing = {e.flow_name: e for e in instance.endpoints.all()}
    for flow_name in wanted:
        endpoint = existing.get(flow_name)
        if endpoint is None:
            Endpoint.objects.create(
                endpoint_type=endpoint_type,
                integration_name=integration.name,
                instance=instance,
                flow_name=flow_name,
            )
        elif (
            endpoint.endpoint_type != endpoint_type or endpoint.integration_name != integration.name
        ):
            endpoint.endpoint_type = endpoint_type
            endpoint.integration_name = integration.name
            endpoint.save(update_fields=["endpoint_type", "integration_name"])


def _api_keys_ensure(instance: Instance) -> None:
    """``customer_required`` flows get a key generated at deploy when they have none."""
    for flow in instance.integration.flows.all():
        if flow.endpoint_security != EndpointSecurity.CUSTOMER_REQUIRED:
            continue
        if not ApiKey.objects.filter(instance=instance, flow_name=flow.name).exists():
            ApiKey.objects.create(
                instance=instance, flow_name=flow.name, label="Generated at deploy"
            )


def _schedules_sync(instance: Instance) -> None:
    """Keep the instance's periodic tasks in step with its state (schedule triggers)."""
    try:
        from triggers.schedules.periodic_tasks import instance_schedules_sync
    except ImportError:  # schedule triggers arrive with their own module
        return
    instance_schedules_sync(instance=instance)


def _component_hooks_run(instance: Instance, hook_name: str, webhook_urls: dict[str, str]) -> None:
    """Run the ``on_instance_deploy``/``on_instance_remove`` hooks of the component
    triggers the instance's flows use (e.g. to register a webhook with the sender)."""
    from integrations.components.registry import get_trigger
    from triggers.webhooks.verification import TriggerRefused, trigger_context, trigger_params

    for flow in instance.integration.flows.all():
        trigger = get_trigger(flow.trigger_type) if "." in flow.trigger_type else None
        hook = getattr(trigger, hook_name, None) if trigger else None
        if hook is None:
            continue
        try:
            hook(
                trigger_context(instance=instance, flow=flow, webhook_urls=webhook_urls),
                trigger_params(instance=instance, flow=flow, trigger=trigger),
            )
        except TriggerRefused as error:
            raise InstanceStateError(f"Flow {flow.name!r}: {error}") from error
        except Exception as error:
            raise InstanceStateError(
                f"Flow {flow.name!r}: the {trigger.key} trigger's {hook_name} hook failed: {error}"
            ) from error


def _lifecycle_flows_start(
    instance: Instance, trigger_type: str, kind: TriggerKind
) -> list[Execution]:
    flows = [f for f in instance.integration.flows.all() if f.trigger_type == trigger_type]
    if not flows:
        return []
    # The webhook context goes into the payload itself: a remove flow runs after the
    # endpoints are gone and still needs the URLs it registered with third parties.
    payload = instance_webhook_context(instance)
    return [
        execution_create(instance=instance, flow=flow, trigger_kind=kind, payload=dict(payload))
        for flow in flows
    ]


@transaction.atomic
def instance_deploy(*, instance: Instance, user: AbstractBaseUser | None = None) -> list[Execution]:
    """Deploy or redeploy: move to the newest version of the integration, apply staged
    config values (``instance_update``) and check the values against it, create endpoints,
    keys and schedules, then start the integration's deploy flows. Returns the deploy flow
    executions."""
    instance = (
        Instance.objects.select_for_update()
        .select_related("integration", "customer")
        .get(pk=instance.pk)
    )
    _ensure_live(instance)
    instance.integration = latest_version(instance.integration)
    if instance.pending_config_values is not None:
        # Staged values become the live ones here, checked with the rest below.
        instance.config_values = instance.pending_config_values
        instance.pending_config_values = None
    instance.config_values = _config_values_clean(instance.integration, instance.config_values)
    instance.deployed_at = timezone.now()
    instance.deployed_fingerprint = instance_settings_fingerprint(instance)
    instance.save(
        update_fields=[
            "integration",
            "config_values",
            "pending_config_values",
            "deployed_at",
            "deployed_fingerprint",
            "updated_at",
        ]
    )
    _endpoints_sync(instance)
    _api_keys_ensure(instance)
    _schedules_sync(instance)
    _component_hooks_run(
        instance, "on_instance_deploy", instance_webhook_context(instance)["webhookUrls"]
    )
    logger.info(
        "Deployed instance %s (%s v%s)",
        instance.pk,
        instance.integration.name,
        instance.integration.version,
    )
    return _lifecycle_flows_start(
        instance, TriggerType.INSTANCE_DEPLOY, TriggerKind.INSTANCE_DEPLOY
    )


def _enabled_set(instance: Instance, enabled: bool) -> Instance:
    _ensure_live(instance)
    instance.enabled = enabled
    instance.save(update_fields=["enabled", "updated_at"])
    _schedules_sync(instance)
    return instance


@transaction.atomic
def instance_pause(*, instance: Instance, user: AbstractBaseUser | None = None) -> Instance:
    """Stop webhooks (they answer 404) and schedules until the instance is enabled again."""
    return _enabled_set(instance, False)


@transaction.atomic
def instance_enable(*, instance: Instance, user: AbstractBaseUser | None = None) -> Instance:
    return _enabled_set(instance, True)


@transaction.atomic
def instance_remove(*, instance: Instance, user: AbstractBaseUser | None = None) -> list[Execution]:
    """Start the remove flows (their payload carries the webhook URLs and keys), then
    remove the instance's endpoints, keys and schedules. The row stays, marked removed,
    so its executions keep their owner for audit; every surface treats it as gone."""
    instance = (
        Instance.objects.select_for_update()
        .select_related("integration", "customer")
        .get(pk=instance.pk)
    )
    _ensure_live(instance)
    executions = []
    if instance.is_deployed:
        _component_hooks_run(
            instance, "on_instance_remove", instance_webhook_context(instance)["webhookUrls"]
        )
        executions = _lifecycle_flows_start(
            instance, TriggerType.INSTANCE_REMOVE, TriggerKind.INSTANCE_REMOVE
        )
    instance.removed_at = timezone.now()
    instance.enabled = False
    instance.save(update_fields=["removed_at", "enabled", "updated_at"])
    instance.endpoints.all().delete()
    instance.api_keys.all().delete()
    _schedules_sync(instance)
    return executions


def api_key_add(*, instance: Instance, flow_name: str, label: str = "") -> ApiKey:
    _ensure_live(instance)
    if not instance.integration.flows.filter(name=flow_name).exists():
        raise InstanceStateError(f"The integration has no flow named {flow_name!r}.")
    return ApiKey.objects.create(instance=instance, flow_name=flow_name, label=label)


def api_key_revoke(*, instance: Instance, flow_name: str, key: str) -> bool:
    deleted, _ = ApiKey.objects.filter(instance=instance, flow_name=flow_name, key=key).delete()
    return deleted > 0


def organization_api_key_add(*, label: str = "") -> ApiKey:
    return ApiKey.objects.create(instance=None, flow_name="", label=label)
