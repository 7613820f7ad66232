"""Turning an HTTP request into the trigger payload steps read as ``trigger.*`` (SPEC §3)."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import multipart
from django.conf import settings
from django.http import HttpRequest
from django.utils.http import parse_header_parameters

from core.media_types import media_type_is_json, media_type_is_text_like


class PayloadError(Exception):
    """The request cannot become a payload; ``status`` is the answer it gets."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


MALFORMED_JSON = "Received malformed JSON payload."

# The endpoint's own credential is checked before the payload is stored and is never kept:
# payloads are shown in the admin and the executions API.
SECRET_HEADERS = {"api-key"}
REDACTED = "[redacted]"

# A "\u" escape of a UTF-16 surrogate: the only way a lone surrogate gets into parsed JSON
# (the bytes were decoded as UTF-8, which refuses encoded surrogates). Searched first so
# that the full check runs only on the few bodies that hold one.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _non_finite_refuse(constant: str) -> Any:
    # Python's json reads NaN, Infinity and -Infinity; RFC 8259 has no such values.
    raise ValueError(f"{constant} is not JSON")


def _json_parse(raw: bytes) -> Any:
    """Strict RFC 8259: no NaN or Infinity, and no lone surrogate (text no UTF-8 can
    hold, which would break storage and every answer that shows it)."""
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_non_finite_refuse)
        if _SURROGATE_ESCAPE.search(raw):
            # Paired surrogates became one character; a lone one stays and fails here.
            json.dumps(value, ensure_ascii=False).encode("utf-8")
    # RecursionError: nesting deeper than the interpreter allows is malformed to us.
    except (UnicodeError, ValueError, RecursionError) as error:
        raise PayloadError(MALFORMED_JSON) from error
    return value


def _text_decode(raw: bytes, charset: str | None) -> str | bytes:
    try:
        return raw.decode(charset or "utf-8")
    except (UnicodeDecodeError, LookupError):
        return raw  # undecodable text stays bytes rather than being corrupted


def _multipart_parse(raw: bytes, params: dict[str, str]) -> dict[str, Any]:
    boundary = params.get("boundary")
    if not boundary:
        raise PayloadError("Multipart payload has no boundary.")
    parts: dict[str, Any] = {}
    try:
        parser = multipart.MultipartParser(
            io.BytesIO(raw),
            boundary,
            content_length=len(raw),
            strict=True,
            # The same cap as Django's on form fields and query parameters.
            part_limit=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS or 2**31,
            memory_limit=len(raw) + 1,
            spool_limit=len(raw) + 1,
        )
        for part in parser:
            content_type = part.content_type or (
                "application/octet-stream" if part.filename else "text/plain"
            )
            part_mimetype, part_params = parse_header_parameters(content_type)
            data: Any
            if media_type_is_json(part_mimetype):
                data = _json_parse(part.raw)
            elif media_type_is_text_like(part_mimetype):
                data = _text_decode(part.raw, part_params.get("charset"))
            else:
                data = part.raw
            entry: dict[str, Any] = {"data": data, "contentType": content_type}
            if part.filename:
                entry["filename"] = part.filename
            parts[part.name] = entry
    except multipart.ParserLimitReached as error:
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        if limit is not None and str(error).startswith("Maximum segment count"):
            raise PayloadError(f"More than {limit} form fields.") from error
        raise PayloadError(f"Multipart payload refused: {error}.") from error
    except multipart.MultipartError as error:
        raise PayloadError(f"Received malformed multipart payload: {error}") from error
    return parts


def _form_field_count_check(raw: bytes) -> None:
    """A form body stays text, but it is held to Django's cap on form fields like any
    form (counted as Django counts them: one more than the separators)."""
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    if limit is not None and raw.count(b"&") + 1 > limit:
        raise PayloadError(f"More than {limit} form fields.")


def body_parse(raw: bytes, content_type: str) -> Any:
    """``body.data``: parsed JSON, text, a dict of multipart parts, or bytes."""
    if not raw:
        return None
    mimetype, params = parse_header_parameters(content_type or "application/octet-stream")
    mimetype = mimetype.lower()
    if media_type_is_json(mimetype):
        return _json_parse(raw)
    if mimetype == "multipart/form-data":
        return _multipart_parse(raw, params)
    if mimetype == "application/x-www-form-urlencoded":
        _form_field_count_check(raw)
    if media_type_is_text_like(mimetype):
        return _text_decode(raw, params.get("charset"))
    return raw


def query_parameters(request: HttpRequest) -> dict[str, str | list[str]]:
    return {name: values[0] if len(values) == 1 else values for name, values in request.GET.lists()}


def webhook_payload_head(
    request: HttpRequest, *, raw_body: bytes, path_fragment: str
) -> dict[str, Any]:
    """Everything but the parsed body: what signature checks and header routing need.
    The body is parsed only after the request's signature checked out."""
    content_type = request.headers.get("Content-Type", "")
    return {
        "rawBody": {"data": raw_body, "contentType": content_type},
        "headers": {
            name.lower(): REDACTED if name.lower() in SECRET_HEADERS else value
            for name, value in request.headers.items()
        },
        "queryParameters": query_parameters(request),
        "pathFragment": path_fragment,
        "method": request.method,
    }


def payload_body_add(payload: dict[str, Any]) -> dict[str, Any]:
    """Parse ``rawBody`` into ``body`` (PayloadError when it does not parse)."""
    if "body" not in payload:
        raw = payload["rawBody"]
        payload["body"] = {
            "data": body_parse(raw["data"], raw["contentType"]),
            "contentType": raw["contentType"],
        }
    return payload


def payload_field(payload: dict[str, Any], path: str) -> Any:
    """Read a routing or dedupe field such as ``headers.x-flow`` or ``body.data.account.id``.
    Returns None when any segment is missing."""
    value: Any = payload
    for segment in path.split("."):
        if isinstance(value, dict):
            value = value.get(segment)
        elif isinstance(value, list) and segment.isdigit() and int(segment) < len(value):
            value = value[int(segment)]
        else:
            return None
        if value is None:
            return None
    return value
