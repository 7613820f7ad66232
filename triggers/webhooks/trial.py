"""The admin's "Test this flow": a trial request sent through the real webhook view.

Production code, not a test: the deployment team uses it to try an endpoint. The request
goes through exactly what an outside caller's would (routing, keys, rate limit, signature
checks, storing, sync waiting), in this process, so a trial works even where the
deployment's public URL is not reachable from the server itself.
"""

from __future__ import annotations

from django.http import HttpResponseBase
from django.test import RequestFactory

from instances.models import ApiKey, Endpoint
from triggers.webhooks.views import WebhookView


def endpoint_trial_invoke(
    *,
    endpoint: Endpoint,
    method: str,
    body: bytes,
    content_type: str,
    headers: dict[str, str],
    path_fragment: str = "",
) -> HttpResponseBase:
    """Send one request to ``endpoint`` as a caller would; its answer, unchanged."""
    headers = dict(headers)
    if endpoint.instance_id and not any(name.lower() == "api-key" for name in headers):
        # The deployment team tests as a legitimate caller would: with the flow's key.
        key = (
            ApiKey.objects.filter(instance_id=endpoint.instance_id, flow_name=endpoint.flow_name)
            .order_by("created_at")
            .values_list("key", flat=True)
            .first()
        )
        if key:
            headers["Api-Key"] = key
    path = f"/trigger/{endpoint.token}" + (f"/{path_fragment}" if path_fragment else "")
    request = RequestFactory().generic(
        method, path, data=body, content_type=content_type, headers=headers
    )
    return WebhookView.as_view()(request, token=endpoint.token, path_fragment=path_fragment)
