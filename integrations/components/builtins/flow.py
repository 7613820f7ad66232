"""Built-in component: flow — shape the run's outcome and response."""

from __future__ import annotations

import time
from typing import Any

from integrations.components.context import ActionContext, StepError, StopExecution
from integrations.components.registry import Component, Input

# Sleeping holds a worker thread; longer waits belong in a schedule, not in a step.
MAX_SLEEP_SECONDS = 300.0

flow = Component("flow", name="Flow", description="Control the run and its response.")

_RESPONSE_INPUTS = [
    Input("contentType", "string"),
    Input("headers", "object"),
]


def _given(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


@flow.action(
    "return",
    inputs=[Input("data", "any"), Input("statusCode", "integer"), *_RESPONSE_INPUTS],
    description="Make the given fields this step's result; the run goes on.",
)
def return_(
    context: ActionContext,
    *,
    data: Any = None,
    statusCode: int | None = None,
    contentType: str | None = None,
    headers: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return _given(data=data, statusCode=statusCode, contentType=contentType, headers=headers)


@flow.action(
    "stop_execution",
    inputs=[Input("statusCode", "integer", required=True), *_RESPONSE_INPUTS, Input("body", "any")],
    description="End the run successfully; a synchronous caller gets this response.",
)
def stop_execution(
    context: ActionContext,
    *,
    statusCode: int,
    contentType: str | None = None,
    headers: dict[str, Any] | None = None,
    body: Any = None,
) -> None:
    if not 100 <= statusCode <= 599:
        raise StepError(f"Input 'statusCode' must be an HTTP status (100-599), got {statusCode}")
    raise StopExecution(
        _given(statusCode=statusCode, contentType=contentType, headers=headers, body=body)
    )


@flow.action(
    "fail",
    inputs=[Input("message", "string", required=True)],
    description="Fail the run with this message.",
)
def fail(context: ActionContext, *, message: str) -> None:
    raise StepError(message)


@flow.action(
    "sleep",
    inputs=[Input("seconds", "number", required=True)],
    description=f"Wait, at most {MAX_SLEEP_SECONDS:g} seconds.",
)
def sleep(context: ActionContext, *, seconds: float) -> dict[str, float]:
    if seconds < 0:
        raise StepError(f"Input 'seconds' must not be negative, got {seconds}")
    if seconds > MAX_SLEEP_SECONDS:
        context.log.warning(f"Sleep of {seconds:g} s capped at {MAX_SLEEP_SECONDS:g} s")
        seconds = MAX_SLEEP_SECONDS
    time.sleep(seconds)
    return {"sleptSeconds": seconds}
