"""HTTP answers of the webhook endpoint (SPEC §3, Responses)."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse, JsonResponse

from executions.models import Execution
from integrations.models import Flow

EXECUTION_ID_HEADER = "triggerfish-executionid"


def error_response(
    message: str, status: int, *, execution: Execution | None = None
) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    if execution is not None:
        response[EXECUTION_ID_HEADER] = str(execution.id)
    return response


def accepted_response(execution: Execution, flow: Flow) -> HttpResponse:
    if flow.has_custom_response:
        response = HttpResponse(
            flow.response_body,
            status=flow.response_status_code,
            content_type=flow.response_content_type or "text/plain",
        )
        for name, value in (flow.response_headers or {}).items():
            response[name] = str(value)
    else:
        response = JsonResponse({"executionId": str(execution.id)})
    response[EXECUTION_ID_HEADER] = str(execution.id)
    return response


RESULT_SHAPE_KEYS = {"data", "statusCode", "contentType", "headers"}


def result_shape(value: Any) -> dict[str, Any] | None:
    """A result of the form ``{data?, statusCode?, contentType?, headers?}`` that sets a
    status or a content type (SPEC §3); None for a plain value."""
    if (
        isinstance(value, dict)
        and value
        and set(value) <= RESULT_SHAPE_KEYS
        and ("statusCode" in value or "contentType" in value)
    ):
        return value
    return None


def body_bytes(data: Any) -> tuple[bytes, str]:
    """A value as response bytes and the content type it implies."""
    if data is None:
        return b"", "application/json"
    if isinstance(data, bytes):
        return data, "application/octet-stream"
    if isinstance(data, str):
        return data.encode(), "text/plain; charset=utf-8"
    return json.dumps(data, cls=DjangoJSONEncoder).encode(), "application/json"


def result_response(value: Any) -> HttpResponse:
    """The body a synchronous caller gets directly for a final step result."""
    shape = result_shape(value)
    if shape is None:
        body, content_type = body_bytes(value)
        return HttpResponse(body, content_type=content_type)
    body, implied_type = body_bytes(shape.get("data"))
    response = HttpResponse(
        body,
        status=int(shape.get("statusCode") or 200),
        content_type=shape.get("contentType") or implied_type,
    )
    for name, header_value in (shape.get("headers") or {}).items():
        response[str(name)] = str(header_value)
    return response
