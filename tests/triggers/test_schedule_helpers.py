"""Definitions with schedule flows, shared by the schedule tests (no tests of its own)."""

from __future__ import annotations

import copy
from typing import Any

SCHEDULE_DEFINITION: dict[str, Any] = {
    "name": "Nightly",
    "configVariables": [
        {
            "key": "Sync Schedule",
            "type": "schedule",
            "default": {"scheduleType": "minute", "value": "*/5 * * * *", "timeZone": "UTC"},
        }
    ],
    "flows": [
        {
            "name": "Hourly Cron",
            "trigger": {
                "type": "schedule",
                "schedule": {"cron": "30 2 * * *", "timeZone": "America/Chicago"},
            },
            "steps": [{"name": "Reply", "action": "flow.return", "inputs": {"data": "ok"}}],
        },
        {
            "name": "Every Ten",
            "trigger": {"type": "schedule", "schedule": {"every": 10, "unit": "minutes"}},
            "steps": [{"name": "Reply", "action": "flow.return", "inputs": {"data": "ok"}}],
        },
        {
            "name": "Configured",
            "trigger": {"type": "schedule", "schedule": {"configVar": "Sync Schedule"}},
            "steps": [{"name": "Reply", "action": "flow.return", "inputs": {"data": "ok"}}],
        },
        {
            "name": "Hook",
            "trigger": {"type": "webhook"},
            "steps": [{"name": "Reply", "action": "flow.return", "inputs": {"data": "ok"}}],
        },
    ],
}


def schedule_definition(**overrides: Any) -> dict[str, Any]:
    result = copy.deepcopy(SCHEDULE_DEFINITION)
    result.update(overrides)
    return result


def one_flow_definition(
    schedule: dict[str, Any],
    *,
    name: str = "Ticker",
    singleton: bool = False,
    steps: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    flow: dict[str, Any] = {
        "name": "Tick",
        "trigger": {"type": "schedule", "schedule": schedule},
        "steps": steps
        or [
            {
                "name": "Reply",
                "action": "flow.return",
                "inputs": {"data": "{{ trigger.scheduledTime }}"},
            }
        ],
    }
    if singleton:
        flow["singleton"] = True
    return {"name": name, "flows": [flow]}
