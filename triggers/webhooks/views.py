"""The webhook endpoint: ``/trigger/{token}[/{path fragment}]``.

A plain Django view rather than a DRF one: it uses none of DRF's negotiation or auth and
must keep the exact request bytes, so the request is read once, by hand, within the body
limit. The view does the minimum before answering: resolve, check, store, enqueue.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from gunicorn.http.errors import ParseException

from instances.endpoints import instance_webhook_context
from integrations.components.triggers import TriggerResponse
from integrations.models import TriggerType
from state.buffer import StateError
from triggers.sync.answers import accepted_response, error_response, trigger_response
from triggers.sync.wait import (
    SYNC_HEADER,
    SyncHeaderError,
    prefer_direct_requested,
    sync_requested,
    sync_respond,
)
from triggers.webhooks.accept import MAX_IDEMPOTENCY_KEY_LENGTH, webhook_accept, webhook_refuse
from triggers.webhooks.middleware import request_endpoint_note
from triggers.webhooks.payloads import PayloadError, payload_body_add, webhook_payload_head
from triggers.webhooks.ratelimit import RateLimiterUnavailable, rate_limit_hit, rate_limit_message
from triggers.webhooks.routing import (
    ApiKeyError,
    RoutingError,
    Target,
    api_key_check,
    endpoint_find,
    endpoint_rate_limit,
    routing_reads_body,
    target_resolve,
    token_is_well_formed,
)
from triggers.webhooks.verification import (
    GateOutcome,
    TriggerRefused,
    component_trigger_run,
    hmac_check,
)

logger = logging.getLogger(__name__)

INVOKING_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ALLOWED_METHODS = (*INVOKING_METHODS, "HEAD", "OPTIONS")


class BodyTooLarge(Exception):
    pass


class IncompleteBody(Exception):
    """The body ended before its Content-Length, or its chunked stream broke off."""


def read_body(request: HttpRequest, limit: int) -> bytes:
    """Read at most ``limit`` bytes; refuse a declared or actual larger body before
    holding it all in memory, and a body that ends before it said it would."""
    try:
        declared = (
            int(request.META["CONTENT_LENGTH"]) if request.META.get("CONTENT_LENGTH") else None
        )
    except ValueError:
        declared = None
    if declared is not None:
        if declared > limit:
            raise BodyTooLarge
        stream = request  # Django's stream stops at Content-Length
    elif request.META.get("wsgi.input_terminated"):
        # A chunked body has no Content-Length, so Django's stream reads nothing; gunicorn
        # de-chunks into wsgi.input and ends it where the body ends, so it is read there.
        stream = request.META["wsgi.input"]
    else:
        return b""  # a server that does not end its input: only Content-Length is safe
    try:
        body = stream.read(limit + 1)
    # OSError: the sender closed mid-chunk (gunicorn's NoMoreData, Django's
    # UnreadablePostError); ParseException: a chunk stream gunicorn cannot follow.
    except (OSError, ParseException) as error:
        raise IncompleteBody from error
    if len(body) > limit:
        raise BodyTooLarge
    if declared is not None and len(body) < declared:
        raise IncompleteBody
    return body


def _known_token_note(request: HttpRequest, token: str) -> None:
    """Mark the request as one of a known endpoint, for its activity count, on the answers
    that need no endpoint (HEAD, OPTIONS, 405): served from the routing cache, and an
    outage only means this one request goes uncounted."""
    try:
        endpoint = endpoint_find(token)
    except DatabaseError:
        return
    if endpoint is not None:
        request_endpoint_note(request, endpoint.token)


@method_decorator([csrf_exempt, never_cache], name="dispatch")
class WebhookView(View):
    http_method_names = [m.lower() for m in ALLOWED_METHODS]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # Before any lookup: a NUL or a space can never be a token, and PostgreSQL
        # refuses a NUL in a query (a DataError that must not read as an outage).
        if not token_is_well_formed(kwargs["token"]):
            return error_response("Unknown endpoint.", 404)
        return super().dispatch(request, *args, **kwargs)

    def http_method_not_allowed(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        _known_token_note(request, kwargs["token"])
        response = error_response(f"Method {request.method} is not allowed.", 405)
        response["Allow"] = ", ".join(ALLOWED_METHODS)
        return response

    def head(self, request: HttpRequest, token: str, path_fragment: str = "") -> HttpResponse:
        _known_token_note(request, token)
        return HttpResponse(status=200)

    def options(self, request: HttpRequest, token: str, path_fragment: str = "") -> HttpResponse:
        _known_token_note(request, token)
        response = HttpResponse(status=204)
        response["Allow"] = ", ".join(ALLOWED_METHODS)
        return response

    def get(self, request: HttpRequest, token: str, path_fragment: str = "") -> HttpResponse:
        return self.invoke(request, token, path_fragment)

    post = put = patch = delete = get

    def invoke(self, request: HttpRequest, token: str, path_fragment: str) -> HttpResponse:
        max_bytes = settings.TRIGGERFISH_MAX_BODY_BYTES
        try:
            endpoint = endpoint_find(token)
            if endpoint is not None:
                # Known endpoints only: random tokens must not grow the activity table.
                # Set before the body is read so that a 413 or 400 is counted too.
                request_endpoint_note(request, endpoint.token)
            # The body is judged before the token (an oversized body is 413 whatever it
            # is sent to), as it always was.
            raw_body = read_body(request, max_bytes)
            if endpoint is None:
                return error_response("Unknown endpoint.", 404)
            if request.method == "GET":
                raw_body = b""  # SPEC §3: a body sent with GET is ignored
            per_second = endpoint_rate_limit(endpoint)
            decision = rate_limit_hit(token=endpoint.token, limit=per_second)
            if not decision.allowed:
                response = error_response(rate_limit_message(endpoint.token, per_second), 429)
                response["Retry-After"] = str(decision.retry_after_seconds)
                return response
            idempotency_key = request.headers.get("Idempotency-Key") or None
            if idempotency_key and len(idempotency_key) > MAX_IDEMPOTENCY_KEY_LENGTH:
                return error_response(
                    f"Idempotency-Key is longer than {MAX_IDEMPOTENCY_KEY_LENGTH} characters.", 400
                )
            try:
                payload = webhook_payload_head(
                    request, raw_body=raw_body, path_fragment=path_fragment
                )
            except TooManyFieldsSent:
                return error_response(
                    f"More than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} query parameters.", 400
                )
            if routing_reads_body(endpoint):
                payload_body_add(payload)
            target = target_resolve(endpoint, payload)
            api_key_check(
                instance=target.instance, flow=target.flow, provided=request.headers.get("Api-Key")
            )
            synchronous = sync_requested(
                flow=target.flow, header_value=request.headers.get(SYNC_HEADER)
            )
            gate = self.gate(target, payload)
            if isinstance(gate, HttpResponse):
                return gate
            if not gate.run:  # the trigger answered the caller itself (a handshake)
                return trigger_response(gate.response or TriggerResponse(body=""))
            if gate.delivery_id and not idempotency_key:
                # A sender's delivery id seen again is a repeat, like an Idempotency-Key.
                idempotency_key = f"delivery:{gate.delivery_id}"[:MAX_IDEMPOTENCY_KEY_LENGTH]
            execution, _ = webhook_accept(
                target=target,
                payload=gate.payload,
                idempotency_key=idempotency_key,
                synchronous=synchronous,
                state=gate.state,
            )
            if synchronous:
                # Waits for the worker's run (up to the flow's sync timeout); see sync.py.
                return sync_respond(
                    execution_id=execution.id,
                    flow=target.flow,
                    prefer_direct=prefer_direct_requested(request),
                )
            if gate.response is not None:
                return trigger_response(gate.response, execution)
        except BodyTooLarge:
            return error_response(f"Request body exceeds the limit of {max_bytes} bytes.", 413)
        except IncompleteBody:
            return error_response("Incomplete request body.", 400)
        except RateLimiterUnavailable:
            return error_response("The rate limiter is unavailable; retry later.", 503)
        except PayloadError as error:
            return error_response(str(error), error.status)
        except RoutingError as error:
            return error_response(str(error), 404)
        except ApiKeyError as error:
            return error_response(str(error), 401)
        except SyncHeaderError as error:
            return error_response(str(error), 400)
        except StateError as error:
            # The trigger's state writes no longer fit (runs saved meanwhile filled a
            # scope); nothing was stored, so the sender may simply retry.
            return error_response(str(error), 409)
        except DatabaseError:
            logger.exception("Database unavailable while accepting a webhook")
            return error_response("The service is temporarily unavailable; retry later.", 503)
        return accepted_response(execution, target.flow)

    def gate(self, target: Target, payload: dict) -> GateOutcome | HttpResponse:
        """Signature check (on the exact bytes, before the body is parsed) or component
        trigger; then the parsed payload. A refusal is recorded and answered here."""
        delivery_id = None
        try:
            if target.flow.trigger_type == TriggerType.HMAC_WEBHOOK:
                verified = hmac_check(
                    instance=target.instance,
                    flow=target.flow,
                    raw_body=payload["rawBody"]["data"],
                    headers=payload["headers"],
                )
                delivery_id = verified.delivery_id
            payload_body_add(payload)
            if target.flow.is_component_trigger:
                webhook_urls = instance_webhook_context(target.instance)["webhookUrls"]
                return component_trigger_run(
                    instance=target.instance,
                    flow=target.flow,
                    payload=payload,
                    webhook_urls=webhook_urls,
                )
        except TriggerRefused as error:
            execution = webhook_refuse(target=target, payload=payload, reason=str(error))
            return error_response(str(error), error.status, execution=execution)
        return GateOutcome(payload=payload, delivery_id=delivery_id)
