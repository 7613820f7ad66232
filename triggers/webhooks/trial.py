"""The admin's "Test this flow": a trial request sent through the real webhook view.

Production code, not a test: the deployment team uses it to try an endpoint. The request
goes through exactly what an outside caller's would (routing, keys, rate limit, signature
checks, storing, sync waiting), in this process, so a trial works even where the
deployment's public URL is not reachable from the server itself. A synchronous trial's
303 to the signed result URL is followed the same way, through the result URL's own view.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponseBase
from django.test import RequestFactory

from instances.models import ApiKey, Endpoint
from triggers.sync.result_urls import result_view
from triggers.sync.wait import SYNC_HEADER
from triggers.webhooks.views import WebhookView

# What the page shows instead of a Location that is a credential (SPEC §3: the signature
# is what lets anyone read the result).
SIGNED_RESULT_URL = "(signed result URL)"
PRESIGNED_STORAGE_URL = "(presigned storage URL)"


def endpoint_trial_invoke(
    *,
    endpoint: Endpoint,
    method: str,
    body: bytes,
    content_type: str,
    headers: dict[str, str],
    path_fragment: str = "",
    synchronous: bool | None = None,
) -> HttpResponseBase:
    """Send one request to ``endpoint`` as a caller would; its answer, unchanged.

    ``synchronous`` sends the sync header (``true``/``false``); ``None`` leaves the flow's
    own setting (and any header the caller typed) in charge."""
    headers = dict(headers)
    if synchronous is not None:
        headers = {name: value for name, value in headers.items() if name.lower() != SYNC_HEADER}
        headers[SYNC_HEADER] = "true" if synchronous else "false"
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


def result_url_token(location: str) -> str | None:
    """The token of one of our signed result URLs, or None for any other Location."""
    prefix = f"{settings.BASE_URL}/results/"
    if not location.startswith(prefix):
        return None
    token = location[len(prefix) :]
    return token if token and "/" not in token and "?" not in token else None


def trial_result_follow(response: HttpResponseBase) -> HttpResponseBase | None:
    """What a synchronous answer's signed result URL answers, fetched in this process as a
    caller's GET would be; None when the answer points nowhere of ours (async answers, a
    flow's own redirect, a presigned S3 URL the browser would fetch itself)."""
    if response.status_code not in (202, 303):
        return None
    token = result_url_token(response.get("Location", ""))
    if token is None:
        return None
    request = RequestFactory().get(f"/results/{token}")
    return result_view(request, token=token)


def location_shown(location: str) -> str:
    """A Location as the trial page may print it: credentials replaced by what they are."""
    if result_url_token(location) is not None:
        return SIGNED_RESULT_URL
    # S3 presigned URLs: X-Amz-Signature= (SigV4) or Signature= (SigV2).
    if "Signature=" in location:
        return PRESIGNED_STORAGE_URL
    return location
