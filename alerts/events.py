"""The event types a monitor can watch (SPEC §9): the one registry of them, with the
``threshold`` keys each uses and their defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LOG_LEVEL_ORDER = {"debug": 0, "info": 1, "warn": 2, "warning": 2, "error": 3}


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    threshold: dict[str, Any] = field(default_factory=dict)  # key -> default
    # Raised from a finished execution (the runner's follow-up); the others come from
    # the periodic check (alerts.checks).
    from_execution: bool = False
    # A later succeeded run of the same instance's flow sends "<name>.recovered".
    recovers_on_success: bool = False


EVENT_TYPES: dict[str, EventType] = {
    event.name: event
    for event in (
        EventType(
            "execution.failed",
            "An execution ended failed with no retry left.",
            from_execution=True,
            recovers_on_success=True,
        ),
        EventType(
            "execution.retry_pending",
            "An attempt failed and a retry is scheduled.",
            from_execution=True,
            recovers_on_success=True,
        ),
        EventType(
            "execution.duration_exceeded",
            "A run is still running, or finished, after `seconds`.",
            threshold={"seconds": 600},
            from_execution=True,
            recovers_on_success=True,
        ),
        EventType(
            "schedule.overdue",
            "A schedule or polling flow has no succeeded run within `graceSeconds` after a "
            "fire was due.",
            threshold={"graceSeconds": 300},
            recovers_on_success=True,
        ),
        EventType(
            "poll.failing",
            "`count` consecutive failed polls.",
            threshold={"count": 3},
        ),
        EventType(
            "endpoint.throttled",
            "At least `count` 429 answers on one endpoint within one minute.",
            threshold={"count": 1},
        ),
        EventType(
            "endpoint.rejected",
            "At least `count` 401 answers on one endpoint within one minute.",
            threshold={"count": 1},
        ),
        EventType(
            "log.level",
            "A log line at `level` (`warn` or `error`) or above.",
            threshold={"level": "error"},
            from_execution=True,
            recovers_on_success=False,
        ),
    )
}

RECOVERED_SUFFIX = ".recovered"


def threshold_value(event: str, threshold: dict[str, Any], key: str) -> Any:
    """The monitor's ``threshold[key]``, or the event type's default."""
    value = threshold.get(key)
    return EVENT_TYPES[event].threshold.get(key) if value is None else value


def threshold_errors(event: str, threshold: Any) -> dict[str, str]:
    """What is wrong with a monitor's ``threshold`` for its event, by key."""
    if not isinstance(threshold, dict):
        return {"threshold": "Must be an object."}
    errors: dict[str, str] = {}
    known = {"seconds", "count", "level", "graceSeconds"}
    for key, value in threshold.items():
        if key not in known:
            errors[f"threshold.{key}"] = f"Unknown key (expected {', '.join(sorted(known))})."
        elif key == "level":
            if value not in ("warn", "error"):
                errors["threshold.level"] = "Must be 'warn' or 'error'."
        elif value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10**7
        ):
            errors[f"threshold.{key}"] = "Must be a whole number from 1 to 10000000."
    return errors
