"""Counts webhook requests per endpoint for the admin's activity view."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from triggers.webhooks.activity import recorder

PREFIX = "/trigger/"
# Set on the request by the webhook view once it knows the endpoint: only known endpoints
# are counted, so random tokens do not grow the activity table.
_ENDPOINT_ATTRIBUTE = "endpoint_token"


def request_endpoint_note(request: HttpRequest, token: str) -> None:
    """Count this request for the endpoint ``token`` (a known one)."""
    setattr(request, _ENDPOINT_ATTRIBUTE, token)


class EndpointActivityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(PREFIX):
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        token = getattr(request, _ENDPOINT_ATTRIBUTE, None)
        if token:
            recorder.record(token, response.status_code, (time.perf_counter() - started) * 1000)
        return response
