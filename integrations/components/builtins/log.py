"""Built-in component: log."""

from __future__ import annotations

from integrations.components.context import LOG_LEVELS, ActionContext, InputError
from integrations.components.registry import Component, Input

log = Component("log", name="Log", description="Write lines to the execution's log.")


@log.action(
    "write",
    inputs=[
        Input("level", "string", default="info", description=f"One of {', '.join(LOG_LEVELS)}."),
        Input("message", "string", required=True),
    ],
    description="Write one line to the execution log.",
)
def write(context: ActionContext, *, level: str, message: str) -> None:
    level = level.lower()
    if level not in LOG_LEVELS:
        raise InputError(f"Input 'level' must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
    context.log.write(level, message)
