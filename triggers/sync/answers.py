"""HTTP answers of the webhook endpoint (SPEC §3, Responses)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from django.http import BadHeaderError, HttpResponse, JsonResponse

from core import codec
from executions.models import Execution
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


RESULT_SHAPE_KEYS = {"data", "statusCode", "contentType", "headers"}
# What a proxy or the WSGI server owns; a flow may not set these on its response.
HOP_BY_HOP_HEADERS = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
}
TEXT_LIKE_TYPES = {
    "application/json",
    "application/xml",
    "application/javascript",
    "application/ecmascript",
    "application/x-www-form-urlencoded",
    "application/yaml",
    "application/x-yaml",
    "application/graphql",
    "application/x-ndjson",
}


class ResultShapeError(ValueError):
    """A final result asks for a response HTTP cannot carry (say, status ``"abc"``)."""


def result_shape(value: Any) -> dict[str, Any] | None:
    """A result of the form ``{data?, statusCode?, contentType?, headers?}`` (SPEC §3): a
    dict of only those keys that has ``data``, ``statusCode`` or ``contentType``; None for a
    plain value. ``{data}`` alone is a shape too: what ``flow.return`` gives, whose body is
    the data, not the wrapper."""
    if (
        isinstance(value, dict)
        and value
        and set(value) <= RESULT_SHAPE_KEYS
        and ("data" in value or "statusCode" in value or "contentType" in value)
    ):
        return value
    return None


def body_bytes(data: Any) -> tuple[bytes, str]:
    """A value as response bytes and the content type it implies. Objects and lists are
    strict JSON with bytes inside as base64 strings and NaN/Infinity as null
    (``codec.answer_json``): a result a run stored can always be answered."""
    if data is None:
        return b"", "application/json"
    if isinstance(data, bytes):
        return data, "application/octet-stream"
    if isinstance(data, str):
        # A lone surrogate (a Python string may hold one) must not make the answer a 500.
        return data.encode("utf-8", errors="replace"), "text/plain; charset=utf-8"
    return codec.answer_json(data), "application/json"


def content_type_is_text_like(content_type: str) -> bool:
    """JSON, text, XML and their relatives: what may be answered directly (SPEC §3)."""
    main = content_type.split(";", 1)[0].strip().lower()
    return (
        main.startswith("text/")
        or main in TEXT_LIKE_TYPES
        or main.endswith("+json")
        or main.endswith("+xml")
    )


@dataclass(frozen=True)
class RenderedResult:
    """A final result as HTTP: ``status`` is None when the result chose none, so the
    default synchronous answer (303, or 200 when answered directly) applies."""

    body: bytes
    content_type: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


# What a WSGI server sends as a header (RFC 9110 5.6.2 token names; values without control
# characters): gunicorn answers 500 for anything else, after the run has succeeded.
HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
HEADER_VALUE_FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _status(value: Any) -> int:
    try:
        status = int(value)
    except (TypeError, ValueError, OverflowError):
        raise ResultShapeError(f"The flow's result has an invalid statusCode: {value!r}.") from None
    # 1xx are interim answers in HTTP, never a final one.
    if isinstance(value, bool) or not 200 <= status <= 599:
        raise ResultShapeError(f"The flow's result has an invalid statusCode: {value!r}.")
    return status


def _content_type(value: Any, implied: str) -> str:
    if value is None or value == "":
        return implied
    if not isinstance(value, str) or HEADER_VALUE_FORBIDDEN.search(value):
        raise ResultShapeError(f"The flow's result has an invalid contentType: {value!r}.")
    return value


def _headers(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(name): str(header) for name, header in value.items()}


def result_render(value: Any, *, stopped: bool = False) -> RenderedResult:
    """The HTTP form of a final step result. ``stopped``: the run ended in
    ``flow.stop_execution``, whose result is ``{statusCode, contentType?, headers?, body?}``."""
    if stopped and isinstance(value, dict):
        body, implied_type = body_bytes(value.get("body"))
        return RenderedResult(
            body=body,
            content_type=_content_type(value.get("contentType"), implied_type),
            status=_status(value.get("statusCode")),
            headers=_headers(value.get("headers")),
        )
    shape = result_shape(value)
    if shape is None:
        body, content_type = body_bytes(value)
        return RenderedResult(body=body, content_type=content_type)
    body, implied_type = body_bytes(shape.get("data"))
    status = shape.get("statusCode")
    return RenderedResult(
        body=body,
        content_type=_content_type(shape.get("contentType"), implied_type),
        status=None if status is None else _status(status),
        headers=_headers(shape.get("headers")),
    )


def rendered_response(rendered: RenderedResult, *, status: int | None = None) -> HttpResponse:
    """``rendered`` as a response; ``status`` when the result chose none (default 200)."""
    response = HttpResponse(
        rendered.body,
        status=rendered.status or status or 200,
        content_type=rendered.content_type,
    )
    for name, value in rendered.headers.items():
        if name.lower() in HOP_BY_HOP_HEADERS:
            continue
        if not HEADER_NAME.fullmatch(name) or HEADER_VALUE_FORBIDDEN.search(value):
            logger.warning("Dropping invalid response header %r from a flow result", name[:100])
            continue
        try:
            response[name] = value
        except (BadHeaderError, ValueError):
            # A newline in a header a flow built from caller input must not become a 500
            # (or a response-splitting hole); the header is left out.
            logger.warning("Dropping invalid response header %r from a flow result", name)
    return response


# A result that asks for what HTTP cannot carry is answered like a run that raised: the
# run is over and must not look like a passing outage (a 5xx invites a retry, which would
# run the flow twice).
RESULT_SHAPE_ERROR_STATUS = 400


def undecodable_result_response(result: codec.UndecodablePayload) -> JsonResponse:
    """The answer for a stored result that cannot be read (docs/synchronous.md): the row
    is there, its value is not, and asking again will not change that."""
    return error_response(result.message, 409)


def result_response(value: Any, *, stopped: bool = False) -> HttpResponse:
    """The body a synchronous caller gets directly for a final step result."""
    if isinstance(value, codec.UndecodablePayload):
        return undecodable_result_response(value)
    try:
        rendered = result_render(value, stopped=stopped)
    except ResultShapeError as error:
        return error_response(str(error), RESULT_SHAPE_ERROR_STATUS)
    return rendered_response(rendered)


def trigger_response(spec: TriggerResponse, execution: Execution | None = None) -> HttpResponse:
    """The answer a component trigger chose for the caller."""
    response = HttpResponse(spec.body, status=spec.status_code, content_type=spec.content_type)
    for name, value in spec.headers.items():
        response[str(name)] = str(value)
    if execution is not None:
        response[EXECUTION_ID_HEADER] = str(execution.id)
    return response
