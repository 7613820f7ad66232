"""HTTP answers of the webhook endpoint (SPEC §3, Responses)."""

from __future__ import annotations

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
