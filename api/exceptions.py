"""Every API error answers ``{"error": "<summary>", "fields": {...}}`` (SPEC §5)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views.defaults import bad_request as default_bad_request
from django.views.defaults import page_not_found
from django.views.defaults import server_error as default_server_error
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class FieldErrors(exceptions.APIException):
    """Input at fault, with a message per field path."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, summary: str, fields: dict[str, str]) -> None:
        super().__init__(summary)
        self.summary = summary
        self.fields = fields


def errors_flatten(detail: Any, prefix: str = "", *, index_keys: bool = False) -> dict[str, str]:
    """DRF's nested errors as ``{"path.to[0].field": "message"}``. ``index_keys``: a dict
    key that is a number is a list index too (a ``ListField``'s errors come keyed so),
    written ``[n]`` rather than ``.n``."""
    if isinstance(detail, dict):
        flat: dict[str, str] = {}
        for key, value in detail.items():
            if index_keys and (isinstance(key, int) or (isinstance(key, str) and key.isdigit())):
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            flat.update(errors_flatten(value, path, index_keys=index_keys))
        return flat
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {prefix or "non_field_errors": " ".join(str(item) for item in detail)}
        flat = {}
        for index, item in enumerate(detail):
            if item:  # a list's valid items come as empty errors
                flat.update(errors_flatten(item, f"{prefix}[{index}]", index_keys=index_keys))
        return flat
    return {prefix or "non_field_errors": str(detail)}


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, FieldErrors):
        return Response({"error": exc.summary, "fields": exc.fields}, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        fields = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(fields)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"error": "Invalid input.", "fields": errors_flatten(exc.detail)}
    elif isinstance(exc, exceptions.NotFound):
        response.data = {"error": "Not found."}
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        response.data = {"error": str(detail)}
    return response


def not_found(request, exception=None):
    """404 for URLs nothing matches: JSON on the machine surfaces (API, webhooks), the
    usual page elsewhere."""
    if request.path.startswith(("/api/", "/trigger/", "/results/")):
        return JsonResponse({"error": "Not found."}, status=404)
    return page_not_found(request, exception)


def bad_request(request, exception=None):
    """400 for a request Django refuses before any view runs (``SuspiciousOperation``:
    more query parameters or form fields than ``DATA_UPLOAD_MAX_NUMBER_FIELDS``, a bad
    Host...): JSON on the machine surfaces, the usual page elsewhere."""
    if not request.path.startswith(("/api/", "/trigger/", "/results/")):
        return default_bad_request(request, exception)
    if isinstance(exception, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        message = f"More than {limit} query parameters or form fields."
    else:
        message = "Bad request."
    return JsonResponse({"error": message}, status=400)


def server_error(request):
    if request.path.startswith(("/api/", "/trigger/", "/results/")):
        return JsonResponse({"error": "Internal error."}, status=500)
    return default_server_error(request)
