"""Endpoint URLs and the webhook context every flow of an instance can read."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from instances.models import ApiKey, Endpoint, Instance
from integrations.models import EndpointType


def endpoint_url(token: str) -> str:
    return f"{settings.BASE_URL}/trigger/{token}"


def shared_endpoint_for(integration_name: str) -> Endpoint | None:
    return Endpoint.objects.filter(integration_name=integration_name, instance__isnull=True).first()


def instance_webhook_context(instance: Instance) -> dict[str, Any]:
    """``webhookUrls``, ``webhookApiKeys`` and ``invokeUrl`` as SPEC §3 describes them:
    per webhook flow of the instance, its URL and its API keys."""
    flows = [f for f in instance.integration.flows.all() if f.is_webhook]
    endpoint_type = instance.integration.endpoint_type
    webhook_urls: dict[str, str] = {}
    invoke_url = None
    if endpoint_type == EndpointType.SHARED_INSTANCE:
        shared = shared_endpoint_for(instance.integration.name)
        invoke_url = endpoint_url(shared.token) if shared else None
        webhook_urls = {flow.name: invoke_url for flow in flows if invoke_url}
    else:
        endpoints = {e.flow_name: e.token for e in instance.endpoints.all()}
        for flow in flows:
            token = (
                endpoints.get(flow.name)
                if endpoint_type == EndpointType.FLOW_SPECIFIC
                else endpoints.get("")
            )
            if token:
                webhook_urls[flow.name] = endpoint_url(token)
    keys: dict[str, list[str]] = {flow.name: [] for flow in flows}
    for api_key in ApiKey.objects.filter(instance=instance).order_by("created_at"):
        if api_key.flow_name in keys:
            keys[api_key.flow_name].append(api_key.key)
    context: dict[str, Any] = {"webhookUrls": webhook_urls, "webhookApiKeys": keys}
    if invoke_url:
        context["invokeUrl"] = invoke_url
    return context
