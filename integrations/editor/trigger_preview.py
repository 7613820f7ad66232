"""The trigger editor's live schedule preview, from the schedule fields as the page sends
them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from integrations.models import ConfigVariable, ConfigVariableType
from integrations.schedule_preview import trigger_schedule_preview


def trigger_schedule_preview_posted(*, query: Mapping[str, str]) -> dict[str, Any]:
    """The preview for the schedule fields as the editor sends them (``form``, ``every``,
    ``unit``, ``cron``, ``timeZone``, ``configVar``, ``integration``)."""
    shape = query.get("form", "")
    if shape == "cron":
        schedule: dict[str, Any] = {
            "cron": query.get("cron", ""),
            "timeZone": query.get("timeZone"),
        }
    elif shape == "configVar":
        schedule = {"configVar": query.get("configVar", "")}
    elif shape == "interval":
        every = query.get("every", "").strip()
        schedule = {"every": int(every) if every.isdigit() else every, "unit": query.get("unit")}
    else:
        return {"ok": True, "errors": {}, "note": "", "description": "No schedule", "nextRuns": []}
    try:
        integration_id = uuid.UUID(query.get("integration", ""))
    except ValueError:
        integration_id = None
    variables = ConfigVariable.objects.filter(type=ConfigVariableType.SCHEDULE)
    defaults = (
        dict(variables.filter(integration_id=integration_id).values_list("key", "default"))
        if integration_id
        else {}
    )
    return trigger_schedule_preview(schedule, variable_defaults=defaults)
