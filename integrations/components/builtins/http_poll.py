"""Built-in polling trigger ``http.poll``: GET a JSON list from a URL on a schedule (SPEC §8).

Decisions (see docs/polling.md):

- The request is a GET with the given headers and query parameters; a parameter whose
  value is null is left out, so ``since: "{{ poll.cursor }}"`` asks for everything on the
  first poll (the cursor is null then).
- Anything but a 2xx answer with a JSON body fails the poll, as does a path that is not
  in the response: a source that answers wrongly must not look like "no new items".
- The next cursor is ``cursorPath`` in the response or the largest ``cursorItemField``
  among the items. A poll with no items, or a ``cursorPath`` that is null (the last page),
  keeps the cursor it started from. With neither setting the cursor stays null and the
  seen ids alone keep items from running twice.
"""

from __future__ import annotations

from typing import Any

import httpx

from integrations.components.builtins.http import http, tls_context
from integrations.components.polling import PollContext, PollFailed, PollResult, json_path_get
from integrations.components.registry import Input

DEFAULT_TIMEOUT_SECONDS = 30.0


def _inputs_check(inputs: dict[str, Any]) -> dict[str, str]:
    if inputs.get("cursorPath") is not None and inputs.get("cursorItemField") is not None:
        return {
            "cursorItemField": "Give cursorPath or cursorItemField, not both: the next "
            "cursor comes from the response or from the items."
        }
    return {}


@http.polling_trigger(
    "poll",
    inputs=[
        Input("url", "string", required=True),
        Input("headers", "object", default={}),
        Input("queryParameters", "object", default={}),
        Input("itemsPath", "string", default="", description='"" = the body is the list'),
        Input("itemIdPath", "string", required=True, description="each item's identity"),
        Input("cursorPath", "string", description="the next cursor in the response"),
        Input("cursorItemField", "string", description="the largest value among the items"),
        Input("timeoutSeconds", "number", default=DEFAULT_TIMEOUT_SECONDS),
    ],
    description="Ask a URL for a JSON list of items on a schedule; each new item starts "
    "the flow (or a batch of them).",
    inputs_check=_inputs_check,
)
def poll(context: PollContext, params: dict[str, Any], cursor: Any) -> PollResult:
    url = params["url"]
    # Only scheme, host and path in messages: query strings often carry credentials.
    target = str(url).split("?", 1)[0]
    query = {
        str(name): _text(value)
        for name, value in (params.get("queryParameters") or {}).items()
        if value is not None
    }
    headers = {str(name): _text(value) for name, value in (params.get("headers") or {}).items()}
    timeout = float(params.get("timeoutSeconds") or DEFAULT_TIMEOUT_SECONDS)
    try:
        full_url = httpx.URL(url).copy_merge_params(query) if query else httpx.URL(url)
        with httpx.Client(timeout=timeout, follow_redirects=True, verify=tls_context()) as client:
            response = client.get(full_url, headers=headers)
    except httpx.TimeoutException:
        raise PollFailed(f"GET {target} timed out after {timeout:g} s") from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as error:
        raise PollFailed(f"Input 'url' is not a valid URL: {error}") from None
    except httpx.HTTPError as error:
        raise PollFailed(f"GET {target} failed: {error}") from None
    if not 200 <= response.status_code <= 299:
        raise PollFailed(f"GET {target} answered {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        raise PollFailed(f"GET {target} answered a body that is not JSON") from None
    items = json_path_get(body, params.get("itemsPath") or "", what="itemsPath")
    if not isinstance(items, list):
        raise PollFailed(
            f"itemsPath {params.get('itemsPath') or ''!r} is not a list in the response"
        )
    id_path = params["itemIdPath"]
    ids = [
        json_path_get(item, id_path, what=f"itemIdPath of item {n}") for n, item in enumerate(items)
    ]
    return PollResult(items=items, cursor=_next_cursor(body, items, params, cursor), ids=ids)


def _next_cursor(body: Any, items: list[Any], params: dict[str, Any], cursor: Any) -> Any:
    if params.get("cursorPath"):
        found = json_path_get(body, params["cursorPath"], what="cursorPath")
        return cursor if found is None else found
    field = params.get("cursorItemField")
    if field and items:
        values = [json_path_get(item, field, what="cursorItemField") for item in items]
        try:
            largest = max(values)
        except TypeError:
            raise PollFailed(
                f"cursorItemField {field!r} has values that cannot be compared"
            ) from None
        if cursor is None:
            return largest
        try:
            return max(largest, cursor)
        except TypeError:
            return largest
    return cursor


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)
