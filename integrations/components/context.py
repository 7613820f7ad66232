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
from typing import Any, Protocol

from integrations.components.registry import Action, Input, Trigger

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


class LogSink(Protocol):
    """Where ``context.log`` lines go. The runner passes one that saves them as the run's
    ExecutionLog rows (``executions.runner.execution_log_sink``); this layer knows no
    execution model, only the line."""

    def __call__(self, level: str, message: str, step_name: str) -> None: ...


def _python_log_sink(level: str, message: str, step_name: str) -> None:
    """The sink of a context built without one (no run to write to): the process log."""
    logger.log(logging.getLevelName(level.upper()), "[%s] %s", step_name, message)


class ExecutionLogger:
    """``context.log``: lines for the run's log, tagged with the step, passed to ``sink``."""

    def __init__(self, *, sink: LogSink, step_name: str = "") -> None:
        self.sink = sink
        self.step_name = step_name

    def write(self, level: str, message: Any) -> None:
        if level not in LOG_LEVELS:
            raise InputError(
                f"Unknown log level {level!r} (expected one of {', '.join(LOG_LEVELS)})"
            )
        self.sink(level, message if isinstance(message, str) else str(message), self.step_name)

    def debug(self, message: Any) -> None:
        self.write("debug", message)

    def info(self, message: Any) -> None:
        self.write("info", message)

    def warning(self, message: Any) -> None:
        self.write("warning", message)

    def error(self, message: Any) -> None:
        self.write("error", message)


class StateScopeAccess(Protocol):
    """One scope of persisted state as an action sees it (SPEC §7): reads see the run's
    own earlier writes, else the state as the run first read it; writes are kept with the
    run and saved only if it succeeds. The runner hands in the buffer behind it
    (``state.buffer``); this layer has no database."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def set(self, key: str, value: Any) -> Any: ...

    def delete(self, key: str) -> None: ...

    def increment(self, key: str, by: int | float = 1) -> int | float: ...


class StateUnavailable:
    """The state of a context built outside a run (no instance to keep it for)."""

    def _refuse(self) -> StepError:
        return StepError("Persisted state is not available here: no run is keeping it.")

    def get(self, key: str, default: Any = None) -> Any:
        raise self._refuse()

    def set(self, key: str, value: Any) -> Any:
        raise self._refuse()

    def delete(self, key: str) -> None:
        raise self._refuse()

    def increment(self, key: str, by: int | float = 1) -> int | float:
        raise self._refuse()


STATE_SCOPES = ("flow", "instance", "integration")


@dataclass(frozen=True)
class StateAccess:
    """``context.state``: ``.flow``, ``.instance``, ``.integration``."""

    flow: StateScopeAccess = field(default_factory=StateUnavailable)
    instance: StateScopeAccess = field(default_factory=StateUnavailable)
    integration: StateScopeAccess = field(default_factory=StateUnavailable)

    def scope(self, name: str) -> StateScopeAccess:
        """The scope called ``name`` (what the ``state.*`` actions' ``scope`` input says)."""
        if name not in STATE_SCOPES:
            raise InputError(
                f"Unknown state scope {name!r} (expected one of {', '.join(STATE_SCOPES)})"
            )
        access: StateScopeAccess = getattr(self, name)
        return access


@dataclass
class ActionContext:
    """What an action is called with. ``log`` writes to ``log_sink`` (the runner's), or to
    the process log when the context was built without one; ``state`` is the run's
    persisted state (refusing every call in a context built without a run)."""

    execution_id: str
    step_name: str
    instance: dict[str, Any] = field(default_factory=dict)
    customer: dict[str, Any] = field(default_factory=dict)
    integration: dict[str, Any] = field(default_factory=dict)
    flow: dict[str, Any] = field(default_factory=dict)
    config_vars: dict[str, Any] = field(default_factory=dict)
    log_sink: LogSink | None = None
    state: StateAccess = field(default_factory=StateAccess)
    log: ExecutionLogger = field(init=False)

    def __post_init__(self) -> None:
        self.log = ExecutionLogger(sink=self.log_sink or _python_log_sink, step_name=self.step_name)


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


def action_inputs_prepare(*, action: Action | Trigger, inputs: dict[str, Any]) -> dict[str, Any]:
    """Check resolved ``inputs`` against the declared inputs of an action (or of a component
    trigger, whose settings are checked the same way).

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
