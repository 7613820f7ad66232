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

In both cases the waiter reads the row once more after waking (or timing out).
"""

from __future__ import annotations

import logging
import os
import time
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

from executions.models import FINISHED_STATUSES, Execution

logger = logging.getLogger(__name__)

CHANNEL_PREFIX = "triggerfish:execution:"
# Marker polling: start fast (most sync runs take milliseconds), back off to a ceiling that
# bounds the added latency of a long run.
FIRST_POLL_SECONDS = 0.002
MAX_POLL_SECONDS = 0.025
# While the Redis subscription is quiet, wake this often to re-check the deadline.
REDIS_READ_SLICE_SECONDS = 1.0


def execution_channel(execution_id: Any) -> str:
    return f"{CHANNEL_PREFIX}{execution_id}"


def _marker_dir() -> Path:
    return Path(settings.TRIGGERFISH_DATA_DIR) / "notify"


def _marker_path(execution_id: Any) -> Path:
    # str(UUID) only: the id comes from our own rows, but a path is built from it.
    return _marker_dir() / str(execution_id).replace("/", "_")


@cache
def _redis_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def execution_finished_notify(*, execution_id: Any) -> None:
    """Announce that an execution reached a final status (after its row was committed).
    Never raises: a waiter that misses this answers 202 at its timeout, which is the
    documented outcome of a slow run, not an error of this one."""
    try:
        if settings.REDIS_URL:
            _redis_client(settings.REDIS_URL).publish(execution_channel(execution_id), "finished")
            return
        marker_dir = _marker_dir()
        marker_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(_marker_path(execution_id), os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(descriptor)
    except Exception:
        logger.warning("Could not announce the finish of execution %s", execution_id, exc_info=True)


def _finished_in_database(execution_id: Any) -> bool:
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


def _wait_redis(execution_id: Any, deadline: float) -> bool:
    import redis

    pubsub = _redis_client(settings.REDIS_URL).pubsub(ignore_subscribe_messages=True)
    try:
        pubsub.subscribe(execution_channel(execution_id))
        if _finished_in_database(execution_id):
            return True
        while (remaining := deadline - time.monotonic()) > 0:
            message = pubsub.get_message(timeout=min(remaining, REDIS_READ_SLICE_SECONDS))
            if message is not None and message.get("type") == "message":
                return True
        return False
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


def _wait_database(execution_id: Any, deadline: float) -> bool:
    """Degraded mode when Redis is gone mid-wait: a slow poll, connection closed between."""
    while True:
        if _finished_in_database(execution_id):
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(0.5, remaining))


def _wait_marker(execution_id: Any, deadline: float) -> bool:
    marker = _marker_path(execution_id)
    if marker.exists() or _finished_in_database(execution_id):
        return True
    interval = FIRST_POLL_SECONDS
    while (remaining := deadline - time.monotonic()) > 0:
        time.sleep(min(interval, remaining))
        if marker.exists():
            return True
        interval = min(interval * 2, MAX_POLL_SECONDS)
    return False


def execution_finish_wait(*, execution_id: Any, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for the execution to finish, holding no database
    connection meanwhile. True when it finished (the caller then reads the row)."""
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
