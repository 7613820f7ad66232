"""Counts webhook requests per endpoint for the admin's activity view."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from triggers.webhooks.activity import recorder

PREFIX = "/trigger/"


class EndpointActivityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(PREFIX):
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        token = getattr(request, "endpoint_token", None)  # set by the view for known tokens
        if token:
            recorder.record(token, response.status_code, (time.perf_counter() - started) * 1000)
        return response
