"""Built-in component: http — call another system.

Decisions (see docs/runner.md):

- A response with a non-2xx status is a result, not an error: ``{data, statusCode,
  headers}`` comes back and the run goes on, so a flow can pass an upstream 404 on.
  ``failOnErrorStatus: true`` makes 4xx/5xx fail the step instead.
- ``responseType: json`` (the default) parses the body as JSON; a body that is not JSON
  comes back as text, and an empty body as ``null``. ``text`` decodes using the response's
  charset (UTF-8 if none); ``binary`` returns the exact bytes.
- The request body: an object or list is sent as JSON, text as text, bytes as they are;
  a ``Content-Type`` header the step sets wins over the one implied by the body's type.
- Redirects are followed. Response header names are lower-case; repeated headers are joined
  with ", ".
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx

from core import codec
from integrations.components.context import ActionContext, InputError, StepError
from integrations.components.registry import Component, Input

RESPONSE_TYPES = ("json", "text", "binary")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
DEFAULT_TIMEOUT_SECONDS = 30.0

http = Component("http", name="HTTP", description="Send HTTP requests.")


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The process's one TLS context (httpx's default: certifi's CAs, SSL_CERT_FILE/DIR).
    A client builds a new one unless given one, which parses the whole CA bundle — about
    30 ms of CPU on every request, plain http included (docs/performance.md, Polling)."""
    return httpx.create_ssl_context()


def _body_arguments(body: Any, headers: dict[str, str]) -> dict[str, Any]:
    has_content_type = any(name.lower() == "content-type" for name in headers)
    if body is None:
        return {}
    if isinstance(body, bytes):
        if not has_content_type:
            headers["Content-Type"] = "application/octet-stream"
        return {"content": body}
    if isinstance(body, str):
        if not has_content_type:
            headers["Content-Type"] = "text/plain; charset=utf-8"
        return {"content": body.encode("utf-8")}
    # Objects, lists, numbers and booleans are JSON.
    if not has_content_type:
        headers["Content-Type"] = "application/json"
    return {"content": codec.dumps(body).encode("utf-8")}


def _response_data(response: httpx.Response, response_type: str) -> Any:
    if response_type == "binary":
        return response.content
    if response_type == "text":
        return response.text
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def _headers_dict(headers: httpx.Headers) -> dict[str, str]:
    merged: dict[str, str] = {}
    for name, value in headers.multi_items():
        name = name.lower()
        merged[name] = f"{merged[name]}, {value}" if name in merged else value
    return merged


# Parameter names are the definition's input names, hence camelCase (SPEC §2).
@http.action(
    "request",
    inputs=[
        Input("method", "string", default="GET"),
        Input("url", "string", required=True),
        Input("headers", "object", default={}),
        Input("queryParameters", "object", default={}),
        Input("body", "any"),
        Input("timeoutSeconds", "number", default=DEFAULT_TIMEOUT_SECONDS),
        Input("responseType", "string", default="json", description="json, text or binary"),
        Input("failOnErrorStatus", "boolean", default=False),
    ],
    description="Send an HTTP request; the result is {data, statusCode, headers}.",
)
def request(
    context: ActionContext,
    *,
    method: str,
    url: str,
    headers: dict[str, Any],
    queryParameters: dict[str, Any],
    body: Any,
    timeoutSeconds: float,
    responseType: str,
    failOnErrorStatus: bool,
) -> dict[str, Any]:
    method = method.upper()
    if method not in METHODS:
        raise InputError(f"Input 'method' must be one of {', '.join(METHODS)}, got {method!r}")
    if responseType not in RESPONSE_TYPES:
        raise InputError(
            f"Input 'responseType' must be one of {', '.join(RESPONSE_TYPES)}, got {responseType!r}"
        )
    if timeoutSeconds <= 0:
        raise InputError(f"Input 'timeoutSeconds' must be positive, got {timeoutSeconds}")
    request_headers = {str(name): _header_value(value) for name, value in headers.items()}
    params = {
        str(name): [_param_value(v) for v in value]
        if isinstance(value, list)
        else _param_value(value)
        for name, value in queryParameters.items()
    }
    body_arguments = _body_arguments(body, request_headers)
    # Only scheme, host and path in messages: query strings often carry credentials.
    target = url.split("?", 1)[0]
    try:
        # Merged, not replaced: httpx's ``params=`` would drop a query written in the URL.
        full_url = httpx.URL(url).copy_merge_params(params) if params else httpx.URL(url)
        with httpx.Client(
            timeout=timeoutSeconds, follow_redirects=True, verify=tls_context()
        ) as client:
            response = client.request(method, full_url, headers=request_headers, **body_arguments)
    except httpx.TimeoutException:
        raise StepError(f"{method} {target} timed out after {timeoutSeconds:g} s") from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as error:
        raise InputError(f"Input 'url' is not a valid URL: {error}") from None
    except httpx.HTTPError as error:
        raise StepError(f"{method} {target} failed: {error}") from None
    if failOnErrorStatus and response.status_code >= 400:
        raise StepError(f"{method} {target} answered {response.status_code}")
    return {
        "data": _response_data(response, responseType),
        "statusCode": response.status_code,
        "headers": _headers_dict(response.headers),
    }


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _param_value(value: Any) -> str:
    return _header_value(value)
