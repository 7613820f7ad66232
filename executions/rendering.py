"""A final result as the bytes, content type, status and headers of an answer (SPEC §3).

Pure: no request, no response object. The worker uses it to decide which result to store
as an object (``executions.results.sync_result_object_store``); the web edge
(``triggers.sync.answers``), the API and the admin turn a ``RenderedResult`` into their
response.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from core import codec
from core.media_types import content_type_media_type, media_type_is_text_like

logger = logging.getLogger(__name__)

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
# What a WSGI server sends as a header (RFC 9110 5.6.2 token names; values without control
# characters): gunicorn answers 500 for anything else, after the run has succeeded.
HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
HEADER_VALUE_FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

# A result that asks for what HTTP cannot carry is answered like a run that raised: the
# run is over and must not look like a passing outage (a 5xx invites a retry, which would
# run the flow twice).
RESULT_SHAPE_ERROR_STATUS = 400
# A stored result that cannot be read (docs/synchronous.md): the row is there, its value
# is not, and asking again will not change that.
UNDECODABLE_RESULT_STATUS = 409


class ResultShapeError(ValueError):
    """A final result asks for a response HTTP cannot carry (say, status ``"abc"``)."""


@dataclass(frozen=True)
class RenderedResult:
    """A final result as HTTP: ``status`` is None when the result chose none, so the
    default synchronous answer (303, or 200 when answered directly) applies."""

    body: bytes
    content_type: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


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
    return media_type_is_text_like(content_type_media_type(content_type))


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
    ``flow.stop_execution``, whose result is ``{statusCode, contentType?, headers?, body?}``.
    Raises ResultShapeError for a result HTTP cannot carry."""
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


def error_rendered(message: str, status: int) -> RenderedResult:
    """``{"error": message}`` with ``status``: how every error is answered (SPEC §3)."""
    return RenderedResult(
        body=json.dumps({"error": message}).encode(), content_type="application/json", status=status
    )


def result_answer(value: Any, *, stopped: bool = False) -> RenderedResult:
    """What a caller gets directly for a final step result: its rendering, or the error a
    result that cannot be read (409) or cannot be carried by HTTP (400) is answered with.
    Never raises."""
    if isinstance(value, codec.UndecodablePayload):
        return error_rendered(value.message, UNDECODABLE_RESULT_STATUS)
    try:
        return result_render(value, stopped=stopped)
    except ResultShapeError as error:
        return error_rendered(str(error), RESULT_SHAPE_ERROR_STATUS)


def rendered_headers_sendable(rendered: RenderedResult) -> dict[str, str]:
    """The headers of ``rendered`` that an answer may carry: none a proxy or the server
    owns, none a WSGI server would refuse (logged and left out)."""
    sendable: dict[str, str] = {}
    for name, value in rendered.headers.items():
        if name.lower() in HOP_BY_HOP_HEADERS:
            continue
        if not HEADER_NAME.fullmatch(name) or HEADER_VALUE_FORBIDDEN.search(value):
            logger.warning("Dropping invalid response header %r from a flow result", name[:100])
            continue
        sendable[name] = value
    return sendable


def result_answerable_directly(rendered: RenderedResult) -> bool:
    """Whether a caller preferring a direct answer gets the body itself (text-like and no
    larger than ``TRIGGERFISH_SYNC_DIRECT_MAX_BYTES``) instead of a redirect."""
    return (
        content_type_is_text_like(rendered.content_type)
        and len(rendered.body) <= settings.TRIGGERFISH_SYNC_DIRECT_MAX_BYTES
    )


def result_rendered_for_redirect(value: Any, *, stopped: bool) -> RenderedResult | None:
    """The rendered result when it is answered by redirect (it chose no status)."""
    if stopped:
        return None
    rendered = result_render(value)
    return rendered if rendered.status is None else None
