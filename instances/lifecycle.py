"""Deploy, pause, enable and remove: the lifecycle of an instance.

Deploy creates its endpoints and keys (and, through the schedule sync, its periodic tasks)
and then runs the integration's ``instance_deploy`` flows; remove runs ``instance_remove``
flows first, with the webhook URLs still in their payload, then takes everything down.

This is the one module below the entry points that reaches executions (the deploy/remove
flows) and the trigger edges (schedules, component trigger hooks); nothing below the API,
the wizard and the admin imports it (import-linter's "Lifecycle is called from the top").
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from executions.models import Execution, TriggerKind
from executions.services import execution_create
from instances.endpoints import instance_webhook_context
from instances.errors import InstanceStateError
from instances.models import ApiKey, Endpoint, Instance
from instances.services import (
    instance_ensure_live,
    instance_settings_fingerprint,
)
from integrations.components.registry import get_trigger
from integrations.config_values import config_values_clean
from integrations.models import EndpointSecurity, EndpointType, Integration, TriggerType
from triggers.schedules.periodic_tasks import instance_schedules_sync
from triggers.webhooks.verification import TriggerRefused, trigger_context, trigger_params

logger = logging.getLogger(__name__)

# Who asked for a lifecycle change: request.user of the API, the wizard or the admin, or
# nobody (a management command, the demo, a test). Callers say it; nothing records it yet.
Actor = AbstractBaseUser | AnonymousUser | None


def latest_version(integration: Integration) -> Integration:
    return (
        Integration.objects.filter(name=integration.name).order_by("-version").first()
        or integration
    )


def instance_config_update(*, instance: Instance, config_values: dict[str, Any]) -> Instance:
    """Replace config values; a deployed instance's schedules follow the new values."""
    instance_ensure_live(instance)
    instance.config_values = config_values_clean(
        integration=instance.integration, values=config_values
    )
    instance.save(update_fields=["config_values", "updated_at"])
    if instance.is_deployed:
        instance_schedules_sync(instance=instance)
    return instance


def _endpoints_sync(instance: Instance) -> None:
    """Give the instance exactly the endpoints its integration's endpoint type calls for.
    Existing tokens are kept: third parties have registered them."""
    integration = instance.integration
    endpoint_type = integration.endpoint_type
    webhook_flow_names = [f.name for f in integration.flows.all() if f.is_webhook]

    wanted: set[str]
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


def _component_hooks_run(instance: Instance, hook_name: str, webhook_urls: dict[str, str]) -> None:
    """Run the ``on_instance_deploy``/``on_instance_remove`` hooks of the component
    triggers the instance's flows use (e.g. to register a webhook with the sender)."""
    for flow in instance.integration.flows.all():
        if not flow.is_component_trigger:
            continue
        trigger = get_trigger(flow.trigger_type)
        hook = getattr(trigger, hook_name, None) if trigger else None
        if trigger is None or hook is None:
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
def instance_deploy(*, instance: Instance, user: Actor = None) -> list[Execution]:
    """Deploy or redeploy: move to the newest version of the integration, apply staged
    config values (``instance_update``) and check the values against it, create endpoints,
    keys and schedules, then start the integration's deploy flows. Returns the deploy flow
    executions."""
    instance = (
        Instance.objects.select_for_update()
        .select_related("integration", "customer")
        .get(pk=instance.pk)
    )
    instance_ensure_live(instance)
    instance.integration = latest_version(instance.integration)
    if instance.pending_config_values is not None:
        # Staged values become the live ones here, checked with the rest below.
        instance.config_values = instance.pending_config_values
        instance.pending_config_values = None
    instance.config_values = config_values_clean(
        integration=instance.integration, values=instance.config_values
    )
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
    instance_schedules_sync(instance=instance)
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
    instance_ensure_live(instance)
    instance.enabled = enabled
    instance.save(update_fields=["enabled", "updated_at"])
    instance_schedules_sync(instance=instance)
    return instance


@transaction.atomic
def instance_pause(*, instance: Instance, user: Actor = None) -> Instance:
    """Stop webhooks (they answer 404) and schedules until the instance is enabled again."""
    return _enabled_set(instance, False)


@transaction.atomic
def instance_enable(*, instance: Instance, user: Actor = None) -> Instance:
    return _enabled_set(instance, True)


@transaction.atomic
def instance_remove(*, instance: Instance, user: Actor = None) -> list[Execution]:
    """Start the remove flows (their payload carries the webhook URLs and keys), then
    remove the instance's endpoints, keys and schedules. The row stays, marked removed,
    so its executions keep their owner for audit; every surface treats it as gone."""
    instance = (
        Instance.objects.select_for_update()
        .select_related("integration", "customer")
        .get(pk=instance.pk)
    )
    instance_ensure_live(instance)
    executions: list[Execution] = []
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
    instance_schedules_sync(instance=instance)
    return executions
