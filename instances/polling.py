"""Poll state of an instance's polling flows (SPEC §8), as the surfaces read and reset it.
The polling itself is the schedule edge's (triggers.schedules.poll)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from instances.models import Instance, PollState


@dataclass(frozen=True)
class PollDetail:
    """Where a polling flow stands; all empty before its first poll."""

    cursor: Any = None
    last_polled_at: datetime | None = None
    last_item_count: int | None = None
    consecutive_failures: int = 0
    backoff_until: datetime | None = None


def poll_details(instance: Instance) -> dict[str, PollDetail]:
    """Each polled flow's state by flow name, in one query."""
    return {
        state.flow_name: PollDetail(
            cursor=state.cursor,
            last_polled_at=state.last_polled_at,
            last_item_count=state.last_item_count,
            consecutive_failures=state.consecutive_failures,
            backoff_until=state.backoff_until,
        )
        for state in PollState.objects.filter(instance=instance)
    }


def poll_cursor_reset(*, instance: Instance, flow_name: str) -> bool:
    """Forget where the flow's polls left off (the admin's Reset cursor): the next poll
    starts from a null cursor, any back-off ends, and the seen ids still keep items from
    running twice. False when the flow has not polled yet."""
    return bool(
        PollState.objects.filter(instance=instance, flow_name=flow_name).update(
            cursor=None, consecutive_failures=0, backoff_until=None
        )
    )
