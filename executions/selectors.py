"""Reads of executions that more than one screen shows: a list's rows in a fixed number of
queries, and how long a run or a step took."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from executions.models import Execution

# What one row of an executions list shows. The payload is loaded because a row says when
# it cannot be read; the error text and the queue's bookkeeping are not.
EXECUTION_LIST_FIELDS = (
    "id",
    "status",
    "trigger_kind",
    "trigger_payload",
    "refused_at_trigger",
    "created_at",
    "started_at",
    "ended_at",
    "instance__id",
    "instance__name",
    "instance__customer__id",
    "instance__customer__name",
    "flow__id",
    "flow__name",
)


def executions_listed(queryset: QuerySet[Execution]) -> QuerySet[Execution]:
    """The rows with their instance, customer and flow in the same query, and only the
    columns a list shows, so a page of 100 costs what a page of one does."""
    return queryset.select_related("instance__customer", "flow").only(*EXECUTION_LIST_FIELDS)


def elapsed(
    started_at: datetime | None, ended_at: datetime | None, *, now: datetime | None = None
) -> timedelta | None:
    """Ended minus started; for a run still going, how long so far; None if not started."""
    if started_at is None:
        return None
    end = ended_at or now or timezone.now()
    return max(end - started_at, timedelta(0))


def elapsed_display(duration: timedelta | None) -> str:
    """``850 ms``, ``12.4 s``, ``3 min 05 s``, ``2 h 01 min``; a dash when not started."""
    if duration is None:
        return "—"
    seconds = duration.total_seconds()
    if seconds < 1:
        return f"{round(seconds * 1000)} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
