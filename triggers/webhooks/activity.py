"""Per-endpoint activity: requests, answers by class, latency percentiles, per minute.

Each web process counts in memory and writes its counts in one batch at most every few
seconds (or when the batch grows), so the webhook path pays a dictionary update, not a
database write, per request. Percentiles come from a fixed histogram, which adds across
processes and minutes exactly; they are accurate to the bucket.
"""

from __future__ import annotations

import atexit
import bisect
import logging
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F

from triggers.models import EndpointActivity

logger = logging.getLogger(__name__)

# Upper bounds (ms) of the latency buckets; the last bucket holds everything slower.
LATENCY_BUCKETS_MS = (
    1,
    2,
    5,
    10,
    15,
    20,
    30,
    50,
    75,
    100,
    150,
    250,
    500,
    1000,
    2500,
    5000,
    10000,
    30000,
)
FLUSH_SECONDS = 5.0
FLUSH_SIZE = 500

_STATUS_FIELDS = {2: "status_2xx", 3: "status_3xx", 4: "status_4xx", 5: "status_5xx"}


def _empty() -> dict[str, Any]:
    return {
        "requests": 0,
        "status_2xx": 0,
        "status_3xx": 0,
        "status_4xx": 0,
        "status_401": 0,
        "status_429": 0,
        "status_5xx": 0,
        "latency_histogram": [0] * (len(LATENCY_BUCKETS_MS) + 1),
    }


class _Recorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, datetime], dict[str, Any]] = defaultdict(_empty)
        self._count = 0
        self._last_flush = time.monotonic()

    def record(self, token: str, status: int, elapsed_ms: float) -> None:
        minute = datetime.now(UTC).replace(second=0, microsecond=0)
        with self._lock:
            entry = self._pending[(token, minute)]
            entry["requests"] += 1
            if status == 429:
                entry["status_429"] += 1
            elif status == 401:
                entry["status_401"] += 1
            field = _STATUS_FIELDS.get(status // 100)
            if field:
                entry[field] += 1
            entry["latency_histogram"][bisect.bisect_left(LATENCY_BUCKETS_MS, elapsed_ms)] += 1
            self._count += 1
            due = self._count >= FLUSH_SIZE or time.monotonic() - self._last_flush >= FLUSH_SECONDS
        if due:
            self.flush()

    def flush(self, *, quiet: bool = False) -> None:
        with self._lock:
            pending, self._pending = self._pending, defaultdict(_empty)
            self._count = 0
            self._last_flush = time.monotonic()
        if not pending:
            return
        try:
            _write(pending)
        except DatabaseError as error:
            # Activity is telemetry: losing a batch must never fail a request.
            if quiet:
                return
            logger.warning(
                "Could not write endpoint activity (%d rows): %s",
                len(pending),
                type(error).__name__,
            )


def _write(pending: dict[tuple[str, datetime], dict[str, Any]]) -> None:
    for (token, minute), counts in pending.items():
        with transaction.atomic():
            row = (
                EndpointActivity.objects.select_for_update()
                .filter(endpoint_token=token, minute=minute)
                .first()
            )
            if row is None:
                try:
                    with transaction.atomic():
                        EndpointActivity.objects.create(
                            endpoint_token=token, minute=minute, **counts
                        )
                    continue
                except IntegrityError:  # another process created it first
                    row = EndpointActivity.objects.select_for_update().get(
                        endpoint_token=token, minute=minute
                    )
            histogram = [
                a + b
                for a, b in zip(row.latency_histogram, counts["latency_histogram"], strict=False)
            ]
            EndpointActivity.objects.filter(pk=row.pk).update(
                latency_histogram=histogram,
                **{
                    name: F(name) + value
                    for name, value in counts.items()
                    if name != "latency_histogram"
                },
            )


recorder = _Recorder()


def _flush_at_exit() -> None:
    # At interpreter exit the database may already be gone (a test run dropped its
    # database, a server is shutting down): counts still pending are telemetry, not work.
    try:
        recorder.flush(quiet=True)  # logging may already be shut down
    except Exception:  # noqa: S110 - nothing useful can be done this late
        pass


atexit.register(_flush_at_exit)


def _percentile(histogram: list[int], fraction: float) -> float | None:
    total = sum(histogram)
    if total == 0:
        return None
    rank = fraction * total
    seen = 0
    for index, count in enumerate(histogram):
        seen += count
        if seen >= rank:
            return (
                float(LATENCY_BUCKETS_MS[index])
                if index < len(LATENCY_BUCKETS_MS)
                else float("inf")
            )
    return float("inf")


def endpoint_activity_summary(
    *, token: str, hours: int = 1, now: datetime | None = None
) -> dict[str, Any]:
    """Totals, p50/p99 latency (bucket upper bounds, ms) and a per-minute series."""
    now = now or datetime.now(UTC)
    since = (now - timedelta(hours=hours)).replace(second=0, microsecond=0)
    rows = list(
        EndpointActivity.objects.filter(endpoint_token=token, minute__gte=since).order_by("minute")
    )
    totals = _empty()
    for row in rows:
        for name in (
            "requests",
            "status_2xx",
            "status_3xx",
            "status_4xx",
            "status_401",
            "status_429",
            "status_5xx",
        ):
            totals[name] += getattr(row, name)
        totals["latency_histogram"] = [
            a + b for a, b in zip(totals["latency_histogram"], row.latency_histogram, strict=False)
        ]
    by_minute = {row.minute: row for row in rows}
    series = []
    minute = since
    while minute <= now:
        point = by_minute.get(minute)
        series.append({"minute": minute, "requests": point.requests if point else 0})
        minute += timedelta(minutes=1)
    return {
        **{k: v for k, v in totals.items() if k != "latency_histogram"},
        "p50_ms": _percentile(totals["latency_histogram"], 0.50),
        "p99_ms": _percentile(totals["latency_histogram"], 0.99),
        "series": series,
    }
