"""Telling a waiting web request that an execution has finished.

A synchronous webhook request waits for a run on a Celery worker, another process and
often another host. It must not poll the database in a loop (every waiting request would
cost the database a query per tick) nor open a database connection just to wait (see
``_connection_release_for_wait``). So the runner announces every finish, and the waiter
listens for it:

- with ``REDIS_URL`` (production): the runner PUBLISHes on ``triggerfish:execution:<id>``;
  the waiter SUBSCRIBEs *before* it checks the row once, so a finish between the check and
  the wait is still heard (no lost wake-up). Waiting is one blocking read on the socket.
- without it (the embedded default, one machine): the runner creates an empty marker file
  ``DATA_DIR/notify/<id>``; the waiter checks the row once, then stats the marker with
  short sleeps. A stat touches no database and costs microseconds; the marker outlives the
  finish, so again nothing is missed. ``notify_markers_prune`` removes old markers.

After waking (or timing out) the waiter reads the row once more, unless the runner's
announcement carried the outcome (Redis only, synchronous runs whose row it just finished:
status, error and the last step's inline result); the caller then answers from that,
which is what the row says, without a query.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from django.conf import settings
from django.db import connection

from core.data_dir import data_path
from core.redis import redis_client
from executions.models import FINISHED_STATUSES, Execution
from executions.outcome import SyncOutcome

logger = logging.getLogger(__name__)

CHANNEL_PREFIX = "triggerfish:execution:"
# Marker polling: start fast (most sync runs take milliseconds), back off to a ceiling that
# bounds the added latency of a long run.
FIRST_POLL_SECONDS = 0.002
MAX_POLL_SECONDS = 0.025
# While the Redis subscription is quiet, wake this often to re-check the deadline.
REDIS_READ_SLICE_SECONDS = 1.0


def execution_channel(execution_id: uuid.UUID | str) -> str:
    return f"{CHANNEL_PREFIX}{execution_id}"


def _marker_dir() -> Path:
    return data_path("notify")


def _marker_path(execution_id: uuid.UUID | str) -> Path:
    # str(UUID) only: the id comes from our own rows, but a path is built from it.
    return _marker_dir() / str(execution_id).replace("/", "_")


def _redis_client(url: str) -> redis.Redis:
    # Longer than the hot path's: the waiter blocks in reads of REDIS_READ_SLICE_SECONDS.
    return redis_client(url, connect_timeout=2, read_timeout=5, health_check_interval=0)


@dataclass(frozen=True)
class Finish:
    """A finish the waiter saw. ``outcome``: what the runner announced the committed row
    says (see ``execution_finished_notify``), when the announcement carried it."""

    outcome: SyncOutcome | None = None


def execution_finished_notify(
    *, execution_id: uuid.UUID | str, outcome: SyncOutcome | None = None
) -> None:
    """Announce that an execution reached a final status (after its row was committed).
    ``outcome`` travels with the announcement when Redis carries it; only the
    runner that wrote the final row passes one. Never raises: a waiter that misses this
    answers 202 at its timeout, which is the documented outcome of a slow run, not an
    error of this one."""
    try:
        if settings.REDIS_URL:
            message = outcome.to_message() if outcome is not None else "finished"
            _redis_client(settings.REDIS_URL).publish(execution_channel(execution_id), message)
            return
        marker_dir = _marker_dir()
        marker_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(_marker_path(execution_id), os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(descriptor)
    except Exception:
        logger.warning("Could not announce the finish of execution %s", execution_id, exc_info=True)


def _finished_in_database(execution_id: uuid.UUID | str) -> bool:
    finished = Execution.objects.filter(pk=execution_id, status__in=FINISHED_STATUSES).exists()
    _connection_release_for_wait()
    return finished


def _connection_release_for_wait() -> None:
    """Before a wait that may last the whole sync timeout, give back a connection that the
    request would close at its end anyway (``CONN_MAX_AGE`` 0, SQLite's default here).

    A persistent connection (``CONN_MAX_AGE`` > 0, PostgreSQL's default here) stays: every
    web thread keeps its own between requests whether it waits or not, so closing it frees
    nothing, and reconnecting after the wait cost ≈ 4 ms per synchronous request. Inside a
    transaction (some tests) the connection always stays."""
    if connection.in_atomic_block:
        return
    if not connection.settings_dict.get("CONN_MAX_AGE"):
        connection.close()


def _announced(data: Any) -> Finish:
    """The Finish a Redis announcement stands for: with its outcome when it carried one."""
    try:
        outcome = json.loads(data)
    except ValueError:  # "finished"
        return Finish()
    return Finish(outcome=SyncOutcome.from_message(outcome) if isinstance(outcome, dict) else None)


def _wait_redis(execution_id: uuid.UUID | str, deadline: float) -> Finish | None:
    pubsub = _redis_client(settings.REDIS_URL).pubsub(ignore_subscribe_messages=True)
    try:
        pubsub.subscribe(execution_channel(execution_id))
        if _finished_in_database(execution_id):
            return Finish()
        while (remaining := deadline - time.monotonic()) > 0:
            message = pubsub.get_message(timeout=min(remaining, REDIS_READ_SLICE_SECONDS))
            if message is not None and message.get("type") == "message":
                return _announced(message["data"])
        return None
    except redis.RedisError:
        logger.warning(
            "Redis failed while waiting for execution %s; waiting on the database",
            execution_id,
            exc_info=True,
        )
        return _wait_database(execution_id, deadline)
    finally:
        try:
            pubsub.close()
        except Exception:  # noqa: S110 - a broken pubsub connection is dropped either way
            pass


def _wait_database(execution_id: uuid.UUID | str, deadline: float) -> Finish | None:
    """Degraded mode when Redis is gone mid-wait: a slow poll."""
    while True:
        if _finished_in_database(execution_id):
            return Finish()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        time.sleep(min(0.5, remaining))


def _wait_marker(execution_id: uuid.UUID | str, deadline: float) -> Finish | None:
    marker = _marker_path(execution_id)
    if marker.exists() or _finished_in_database(execution_id):
        return Finish()
    interval = FIRST_POLL_SECONDS
    while (remaining := deadline - time.monotonic()) > 0:
        time.sleep(min(interval, remaining))
        if marker.exists():
            return Finish()
        interval = min(interval * 2, MAX_POLL_SECONDS)
    return None


def execution_finish_wait(*, execution_id: uuid.UUID | str, timeout: float) -> Finish | None:
    """Wait up to ``timeout`` seconds for the execution to finish, opening no database
    connection meanwhile. A Finish when it finished (the caller then reads the row, or
    answers from the announced outcome), None at the timeout."""
    deadline = time.monotonic() + timeout
    if settings.REDIS_URL:
        return _wait_redis(execution_id, deadline)
    return _wait_marker(execution_id, deadline)


def notify_markers_prune(*, older_than_seconds: float = 3600.0) -> int:
    """Delete marker files older than ``older_than_seconds``. A marker matters only between
    a waiter's row check and its next stat, so an hour-old one is long useless."""
    marker_dir = _marker_dir()
    if not marker_dir.is_dir():
        return 0
    cutoff = time.time() - older_than_seconds
    removed = 0
    for marker in marker_dir.iterdir():
        try:
            if marker.stat().st_mtime < cutoff:
                marker.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed
