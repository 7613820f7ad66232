"""Which instance and flow a webhook request starts (SPEC §3, endpoint types)."""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from core.cache import routing_cache
from instances.models import ApiKey, Endpoint, Instance
from integrations.models import EndpointSecurity, EndpointType, Flow, Integration
from triggers.webhooks.payloads import payload_field


class RoutingError(Exception):
    """The request names nothing that can run; answered 404 with this message."""


class ApiKeyError(Exception):
    """The flow's endpoint security refuses the request; answered 401."""


@dataclass(frozen=True)
class Target:
    endpoint: Endpoint
    instance: Instance
    flow: Flow


# What secrets.token_urlsafe writes (RFC 4648's URL-safe base64 alphabet, no padding).
_TOKEN_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")


def token_is_well_formed(token: str) -> bool:
    """Whether ``token`` is made of the characters a token can hold; anything else (a NUL,
    a space, a percent-decoded byte) names no endpoint and is not worth a lookup."""
    return _TOKEN_ALPHABET.fullmatch(token) is not None


def endpoint_find(token: str) -> Endpoint | None:
    """The token's endpoint with its instance, customer, integration and flows loaded;
    served from the per-process routing cache (core.cache) after the first
    request, unknown tokens included."""
    if not token or len(token) > 64:
        return None
    return routing_cache.get(("endpoint", token), lambda: _endpoint_load(token))


def _endpoint_load(token: str) -> Endpoint | None:
    rows = (
        Endpoint.objects.select_related("instance__integration", "instance__customer")
        .prefetch_related("instance__integration__flows")
        .filter(token=token)
    )
    return next(iter(rows), None)


def endpoint_rate_limit(endpoint: Endpoint) -> int:
    """Requests per second the endpoint accepts: its integration's setting or the default."""
    integration = _routing_integration(endpoint)
    configured = integration.rate_limit_per_second if integration else None
    return configured or settings.TRIGGERFISH_RATE_LIMIT_PER_SECOND


def _routing_integration(endpoint: Endpoint) -> Integration | None:
    if endpoint.instance is not None:  # no query for an endpoint without an instance
        return endpoint.instance.integration
    return _latest_integration(endpoint.integration_name)


def _latest_integration(name: str) -> Integration | None:
    def load() -> Integration | None:
        rows = (
            Integration.objects.filter(name=name).prefetch_related("flows").order_by("-version")[:1]
        )
        return next(iter(rows), None)

    return routing_cache.get(("integration", name), load)


def routing_reads_body(endpoint: Endpoint) -> bool:
    """Whether the flow or customer is named inside the body, so the body must be parsed
    before the flow (and its signature settings) is known."""
    if endpoint.endpoint_type == EndpointType.FLOW_SPECIFIC:
        return False
    integration = _routing_integration(endpoint)
    fields = (
        (integration.flow_name_field, integration.external_customer_id_field) if integration else ()
    )
    return any(field.startswith("body.") for field in fields)


def _webhook_flow(integration: Integration, name: Any) -> Flow:
    flows = [f for f in integration.flows.all() if f.is_webhook]
    if name is None:
        if len(flows) == 1:
            return flows[0]
        raise RoutingError("No flow could be determined from the request.")
    for flow in flows:
        if flow.name == str(name):
            return flow
    raise RoutingError(f"Flow not found: {str(name)[:200]!r}.")


def _instance_check(instance: Instance | None) -> Instance:
    if instance is None or instance.removed_at is not None:
        raise RoutingError("Unknown endpoint.")
    if instance.deployed_at is None:
        raise RoutingError("Instance is not deployed.")
    if not instance.enabled:
        raise RoutingError("Instance is paused.")
    return instance


def _shared_instance(endpoint: Endpoint, payload: dict[str, Any]) -> Instance:
    integration = _latest_integration(endpoint.integration_name)
    if integration is None or not integration.external_customer_id_field:
        raise RoutingError("Unknown endpoint.")
    external_id = payload_field(payload, integration.external_customer_id_field)
    if external_id is None or isinstance(external_id, dict | list | bytes):
        raise RoutingError("Customer not found: the request names no customer.")
    if "\x00" in str(external_id):
        # No customer id holds a NUL (PostgreSQL cannot store one, and refuses one in a
        # query with a DataError that would read as an outage).
        instance = None
    else:
        instance = routing_cache.get(
            ("shared", endpoint.integration_name, str(external_id)),
            lambda: _shared_instance_load(endpoint.integration_name, str(external_id)),
        )
    if instance is None:
        raise RoutingError(f"Customer not found: {str(external_id)[:200]!r}.")
    return _instance_check(instance)


def _shared_instance_load(integration_name: str, external_id: str) -> Instance | None:
    # One customer may hold several instances of the integration; the newest deployed,
    # not removed one answers the shared URL (see docs/webhooks.md).
    candidates = (
        Instance.objects.live()
        .select_related("integration", "customer")
        .prefetch_related("integration__flows")
        .filter(
            customer__external_id=external_id,
            integration__name=integration_name,
            deployed_at__isnull=False,
        )
        .order_by("-deployed_at")[:1]
    )
    return next(iter(candidates), None)


def target_resolve(endpoint: Endpoint, payload: dict[str, Any]) -> Target:
    if endpoint.instance_id is None:
        instance = _shared_instance(endpoint, payload)
    else:
        instance = _instance_check(endpoint.instance)
    integration = instance.integration
    if endpoint.endpoint_type == EndpointType.FLOW_SPECIFIC:
        flow = _webhook_flow(integration, endpoint.flow_name)
    elif integration.flow_name_field:
        flow = _webhook_flow(integration, payload_field(payload, integration.flow_name_field))
    else:
        flow = _webhook_flow(integration, None)
    return Target(endpoint=endpoint, instance=instance, flow=flow)


def _matches_any(provided: str, keys: list[str]) -> bool:
    # Compare against every key, without stopping early, in constant time each.
    provided_bytes = provided.encode()
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(provided_bytes, key.encode())
    return matched


def api_key_check(*, instance: Instance, flow: Flow, provided: str | None) -> None:
    security = flow.endpoint_security
    if security == EndpointSecurity.UNSECURED:
        return
    if security == EndpointSecurity.ORGANIZATION:
        keys = routing_cache.get(
            ("organization-keys",),
            lambda: list(
                ApiKey.objects.filter(instance__isnull=True).values_list("key", flat=True)
            ),
        )
    else:
        keys = routing_cache.get(
            ("keys", instance.pk, flow.name),
            lambda: list(
                ApiKey.objects.filter(instance=instance, flow_name=flow.name).values_list(
                    "key", flat=True
                )
            ),
        )
        if security == EndpointSecurity.CUSTOMER_OPTIONAL and not keys:
            return
    if not provided:
        raise ApiKeyError("This endpoint requires an Api-Key header.")
    if not _matches_any(provided, keys):
        raise ApiKeyError("The Api-Key is not valid for this endpoint.")
