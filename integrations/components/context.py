"""What an action receives: its context, its checked inputs, and the exceptions it may raise.

Actions are called as ``action.function(context, **inputs)``. ``inputs`` have been
resolved (references) and checked against the action's declared ``Input``s by
:func:`action_inputs_prepare`: a required input that is missing fails the step naming it,
defaults fill in the rest, and values are coerced to the declared type where that is
unambiguous (``"3"`` for a number, a JSON string for an object).
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from integrations.components.registry import Action, Input

logger = logging.getLogger(__name__)

LOG_LEVELS = ("debug", "info", "warning", "error")


class StepError(Exception):
    """An error whose message is meant for the flow's author as it is; the runner records
    ``str(error)`` without the exception's type name (SPEC §3: a sync run answers
    ``{"error": "<the error's message>"}``)."""


class InputError(StepError):
    """An action's inputs did not match its declaration."""


class StopExecution(Exception):
    """Raised by ``flow.stop_execution`` (or any action) to end the run successfully.

    ``response`` (``{statusCode, contentType?, headers?, body?}``) becomes the step's
    result and, for a synchronous caller, the HTTP response.
    """

    def __init__(self, response: dict[str, Any]) -> None:
        self.response = response
        super().__init__(f"Execution stopped with status {response.get('statusCode')}")


class ExecutionLogger:
    """``context.log``: writes ExecutionLog rows for the run, tagged with the step.

    ``held``: lines the runner holds back to save with the run's next write (its opening
    line, see executions.runner); shared by the run's loggers, and written first, so the
    order of the lines is the order they were logged in."""

    def __init__(self, *, execution_id: str, step_name: str = "", held: list | None = None) -> None:
        self.execution_id = execution_id
        self.step_name = step_name
        self.held = held

    def write(self, level: str, message: Any) -> None:
        from executions.models import ExecutionLog

        if level not in LOG_LEVELS:
            raise InputError(
                f"Unknown log level {level!r} (expected one of {', '.join(LOG_LEVELS)})"
            )
        line = ExecutionLog(
            execution_id=self.execution_id,
            level=level,
            message=message if isinstance(message, str) else str(message),
            step_name=self.step_name[:200],
        )
        if self.held:
            ExecutionLog.objects.bulk_create([*self.held, line])
            self.held.clear()
        else:
            line.save()

    def debug(self, message: Any) -> None:
        self.write("debug", message)

    def info(self, message: Any) -> None:
        self.write("info", message)

    def warning(self, message: Any) -> None:
        self.write("warning", message)

    def error(self, message: Any) -> None:
        self.write("error", message)


@dataclass
class ActionContext:
    execution_id: str
    step_name: str
    instance: dict[str, Any] = field(default_factory=dict)
    customer: dict[str, Any] = field(default_factory=dict)
    integration: dict[str, Any] = field(default_factory=dict)
    flow: dict[str, Any] = field(default_factory=dict)
    config_vars: dict[str, Any] = field(default_factory=dict)
    log: ExecutionLogger | None = None

    def __post_init__(self) -> None:
        if self.log is None:
            self.log = ExecutionLogger(execution_id=self.execution_id, step_name=self.step_name)


def _coerce(declared: Input, value: Any) -> Any:
    kind = declared.type

    def wrong() -> InputError:
        shown = type(value).__name__
        return InputError(f"Input '{declared.name}' must be {kind}, got {shown}")

    if kind == "any":
        return value
    if kind == "string":
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return json.dumps(value)
        if isinstance(value, bytes):
            return value.decode("utf-8", errors="replace")
        raise wrong()
    if kind in ("number", "integer"):
        if isinstance(value, bool):
            raise wrong()
        number: Any = value
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                raise wrong() from None
        if not isinstance(number, int | float):
            raise wrong()
        if kind == "integer":
            if number != int(number):
                raise InputError(f"Input '{declared.name}' must be a whole number, got {value!r}")
            return int(number)
        return int(number) if isinstance(value, str) and number == int(number) else number
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in (
            "true",
            "false",
            "1",
            "0",
            "yes",
            "no",
        ):
            return value.strip().lower() in ("true", "1", "yes")
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise wrong()
    if kind in ("object", "list"):
        expected = dict if kind == "object" else list
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise wrong() from None
        if not isinstance(value, expected):
            raise wrong()
        return value
    if kind == "bytes":
        if isinstance(value, bytes):
            return value
        if isinstance(value, str):
            return value.encode("utf-8")
        raise wrong()
    raise InputError(f"Input '{declared.name}' has unknown type {kind!r}")


def action_inputs_prepare(*, action: Action, inputs: dict[str, Any]) -> dict[str, Any]:
    """Check resolved ``inputs`` against the action's declared inputs.

    ``None`` counts as not given, so ``contentType: "{{ trigger.x }}"`` resolving to null
    falls back to the default. Actions that declare no inputs take what they are given.
    """
    if not isinstance(inputs, dict):
        raise InputError(f"Inputs of action '{action.key}' must be an object")
    if not action.inputs:
        return dict(inputs)
    declared = {item.name: item for item in action.inputs}
    unknown = sorted(set(inputs) - set(declared))
    if unknown:
        raise InputError(
            f"Unknown input {', '.join(repr(u) for u in unknown)} for action '{action.key}' "
            f"(it takes {', '.join(declared)})"
        )
    prepared: dict[str, Any] = {}
    for name, item in declared.items():
        value = inputs.get(name)
        if value is None:
            if item.required:
                raise InputError(f"Missing required input '{name}' of action '{action.key}'")
            # Copied: a mutable default must not be shared between runs.
            prepared[name] = copy.deepcopy(item.default)
            continue
        prepared[name] = _coerce(item, value)
    return prepared
