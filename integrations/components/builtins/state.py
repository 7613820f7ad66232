"""Built-in component: state — read and write what flows remember between runs (SPEC §7).

The actions work through ``context.state``, the run's buffer: reads see this run's own
earlier writes, and the writes are saved only if the run succeeds (docs/state.md).
"""

from __future__ import annotations

from typing import Any

from integrations.components.context import STATE_SCOPES, ActionContext, StepError
from integrations.components.registry import Component, Input

state = Component(
    "state",
    name="State",
    description="Keep values between runs: per flow, per instance, or per integration.",
)

_SCOPE = Input("scope", "string", required=True, description=f"One of {', '.join(STATE_SCOPES)}.")
_KEY = Input("key", "string", required=True)
# Told apart from a stored null: get() hands back the default it was given.
_ABSENT = object()


@state.action(
    "get",
    inputs=[_SCOPE, _KEY, Input("default", "any", description="Returned when the key is absent.")],
    description="The key's value, seeing this run's own earlier writes.",
)
def get(context: ActionContext, *, scope: str, key: str, default: Any = None) -> Any:
    value = context.state.scope(scope).get(key, _ABSENT)
    if value is not _ABSENT:
        return value
    if default is not None:
        return default
    raise StepError(f"State key {key!r} not found in scope '{scope}' (give a default)")


@state.action(
    "set",
    # Not required: a value that resolves to null is stored as null, as JSON has it.
    inputs=[_SCOPE, _KEY, Input("value", "any", description="Any JSON value (null if not given).")],
    description="Set the key (saved if the run succeeds); the result is the value.",
)
def set_(context: ActionContext, *, scope: str, key: str, value: Any = None) -> Any:
    return context.state.scope(scope).set(key, value)


@state.action(
    "delete",
    inputs=[_SCOPE, _KEY],
    description="Remove the key (if the run succeeds).",
)
def delete(context: ActionContext, *, scope: str, key: str) -> dict[str, Any]:
    context.state.scope(scope).delete(key)
    return {}


@state.action(
    "increment",
    inputs=[_SCOPE, _KEY, Input("by", "number", default=1)],
    description="Add to the key's number (a missing key counts from 0); the new number.",
)
def increment(context: ActionContext, *, scope: str, key: str, by: int | float = 1) -> int | float:
    return context.state.scope(scope).increment(key, by)
