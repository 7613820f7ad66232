"""What a polling trigger receives and returns (SPEC §8).

A polling trigger is declared on a component (``registry.Component.polling_trigger``) and
runs on the flow's schedule, in a worker, before any execution exists::

    @acme.polling_trigger("new_orders", inputs=[Input("baseUrl", "string", required=True)])
    def new_orders(context: PollContext, params: dict, cursor: Any) -> PollResult:
        page = fetch(params["baseUrl"], since=cursor)     # cursor is None at first
        return PollResult(items=page["orders"], cursor=page["next"])

``cursor`` is what the previous successful poll returned (JSON: text, a number, an
object…). Each item's identity, for dedupe, is its ``id`` key unless ``ids`` gives one
per item. Raising anything — ``PollFailed`` for a source that answered wrongly — records
a failed execution with the message as its error; the cursor stays where it was.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger("triggerfish.polling")


class PollFailed(Exception):
    """The source could not be read (no answer, an error status, a body of the wrong
    shape). The message is the failed execution's error: say what was asked and what came
    back, never a credential."""


@dataclass(frozen=True)
class PollResult:
    """``items`` in the order the source gave them; ``cursor`` is where the next poll
    starts; ``ids``, when given, one identity per item (otherwise each item's ``id``)."""

    items: list[Any]
    cursor: Any = None
    ids: list[Any] | None = None


@dataclass(frozen=True)
class PollContext:
    """Who the poll is for. ``config_vars`` carries the instance's values (defaults filled
    in); ``log`` is a plain logger, since no execution exists yet."""

    instance: dict[str, Any]
    customer: dict[str, Any]
    integration: dict[str, Any]
    flow: dict[str, Any]
    config_vars: dict[str, Any]
    log: logging.Logger = field(default=logger)


class PathNotFound(PollFailed):
    """A dotted path (``data.orders``) leads nowhere in a response or an item."""


def json_path_get(value: Any, path: str, *, what: str) -> Any:
    """Follow ``a.b.0.c`` through objects and lists; ``""`` is the value itself. ``what``
    names the setting in the error (``itemsPath 'data.orders'``)."""
    if path == "":
        return value
    current = value
    for segment in path.split("."):
        if isinstance(current, Mapping) and segment in current:
            current = current[segment]
        elif isinstance(current, list) and segment.isdigit() and int(segment) < len(current):
            current = current[int(segment)]
        else:
            raise PathNotFound(f"{what} {path!r} not found: no {segment!r} in {_shape(current)}")
    return current


def _shape(value: Any) -> str:
    if isinstance(value, Mapping):
        keys = ", ".join(sorted(str(key) for key in value)[:10])
        return f"an object with keys [{keys}]" if keys else "an empty object"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return "null" if value is None else type(value).__name__
