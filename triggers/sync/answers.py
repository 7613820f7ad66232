"""HTTP answers of the webhook endpoint (SPEC §3, Responses).

What a result answers (body, content type, status, headers) is decided in
``executions.rendering``; this module only turns it, and the endpoint's other answers,
into responses."""

from __future__ import annotations

import logging
from typing import Any

from django.http import BadHeaderError, HttpResponse, JsonResponse

from core import codec
from executions.models import Execution
from executions.rendering import (
    UNDECODABLE_RESULT_STATUS,
    RenderedResult,
    rendered_headers_sendable,
    result_answer,
)
from integrations.components.triggers import TriggerResponse
from integrations.models import Flow

logger = logging.getLogger(__name__)

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


def rendered_response(rendered: RenderedResult, *, status: int | None = None) -> HttpResponse:
    """``rendered`` as a response; ``status`` when the result chose none (default 200)."""
    response = HttpResponse(
        rendered.body,
        status=rendered.status or status or 200,
        content_type=rendered.content_type,
    )
    for name, value in rendered_headers_sendable(rendered).items():
        try:
            response[name] = value
        except (BadHeaderError, ValueError):
            # A newline in a header a flow built from caller input must not become a 500
            # (or a response-splitting hole); the header is left out.
            logger.warning("Dropping invalid response header %r from a flow result", name)
    return response


def undecodable_result_response(result: codec.UndecodablePayload) -> JsonResponse:
    """The answer for a stored result that cannot be read (docs/synchronous.md): the row
    is there, its value is not, and asking again will not change that."""
    return error_response(result.message, UNDECODABLE_RESULT_STATUS)


def result_response(value: Any, *, stopped: bool = False) -> HttpResponse:
    """The body a synchronous caller gets directly for a final step result (or the error a
    result that cannot be read or carried is answered with: ``result_answer``)."""
    return rendered_response(result_answer(value, stopped=stopped))


def trigger_response(spec: TriggerResponse, execution: Execution | None = None) -> HttpResponse:
    """The answer a component trigger chose for the caller."""
    response = HttpResponse(spec.body, status=spec.status_code, content_type=spec.content_type)
    for name, value in spec.headers.items():
        response[str(name)] = str(value)
    if execution is not None:
        response[EXECUTION_ID_HEADER] = str(execution.id)
    return response
