"""What webhook tokens resolve to, cached per process, so the hot path asks the database
nothing for a known token (docs/performance.md, "Endpoint resolution").

Entries are loaded by ``triggers.webhooks.routing``: a token's endpoint with its instance, customer,
integration and flows; the instance a shared endpoint picks for an external customer id;
the API keys of an instance flow and the organization's; and what runs read of their
definition (``executions.run_definitions``). All of that changes only when an Endpoint,
Instance, Customer, Integration, Flow, ApiKey, Step or ConfigVariable row is saved or
deleted (``instances.cache_signals`` connects those models, since this module knows no
model), and each such change bumps a *routing version*:

- in the changing process at once (so a test, or the admin request that paused an
  instance, sees the change on its very next call), and again when the transaction
  commits (a concurrent thread may have reloaded the old rows in between);
- for every other process when the transaction commits: ``INCR`` of a Redis key with
  ``REDIS_URL``, else a stamp file under the data folder (the embedded default runs on one
  machine). A process compares the shared version at most every ``CHECK_SECONDS`` and
  drops everything when it moved, so a pause or key change reaches every web process
  within ``CHECK_SECONDS`` (0.1 s) of its commit.

When the shared version cannot be read (Redis down) nothing is served from the cache: the
lookups go to the database as if there were none. Entries also expire after
``ENTRY_TTL_SECONDS``, a backstop for a change made behind the ORM's back (raw SQL,
``QuerySet.update``, ``bulk_create``), and the cache holds at most ``MAX_ENTRIES``.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction

from core.data_dir import data_path
from core.redis import redis_client

logger = logging.getLogger(__name__)

CHECK_SECONDS = 0.1
ENTRY_TTL_SECONDS = 60.0
MAX_ENTRIES = 10_000
VERSION_KEY = "triggerfish:routing-version"
_UNREADABLE = object()

T = TypeVar("T")


def _stamp_path() -> Path:
    return data_path("routing-version")


def _shared_version_read() -> Any:
    if settings.REDIS_URL:
        try:
            return redis_client(settings.REDIS_URL).get(VERSION_KEY)
        except Exception:  # redis-py raises several connection/timeout types
            return _UNREADABLE
    try:
        stat = os.stat(_stamp_path())
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def _shared_version_bump() -> None:
    if settings.REDIS_URL:
        try:
            redis_client(settings.REDIS_URL).incr(VERSION_KEY)
        except Exception as error:
            logger.warning(
                "Could not publish a routing change (%s); other web processes see it within %.0f s",
                type(error).__name__,
                ENTRY_TTL_SECONDS,
            )
        return
    path = _stamp_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # A fresh file replaced over the old one: a new inode, so the stat differs even when
    # two bumps fall within the file system's timestamp resolution.
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    temporary.write_text(secrets.token_hex(8))
    os.replace(temporary, path)


class RoutingCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._generation = 0
        self._shared_version: Any = _UNREADABLE
        self._checked_at = float("-inf")

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        now = time.monotonic()
        if not self._current(now):
            return load()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and now - hit[0] < ENTRY_TTL_SECONDS:
                self._entries.move_to_end(key)
                return hit[1]
            generation = self._generation
        value = load()
        with self._lock:
            # Not if the routing changed while this was loading: it may be the old state.
            if generation == self._generation:
                self._entries[key] = (now, value)
                self._entries.move_to_end(key)
                while len(self._entries) > MAX_ENTRIES:
                    self._entries.popitem(last=False)
        return value

    def _current(self, now: float) -> bool:
        """Whether entries may be served: the shared version was read within
        CHECK_SECONDS (entries are dropped when it moved)."""
        if now - self._checked_at < CHECK_SECONDS:
            return True
        version = _shared_version_read()
        if version is _UNREADABLE:
            return False
        with self._lock:
            if version != self._shared_version:
                self._drop()
                self._shared_version = version
            self._checked_at = now
        return True

    def _drop(self) -> None:
        self._entries.clear()
        self._generation += 1

    def clear(self) -> None:
        with self._lock:
            self._drop()
            self._checked_at = float("-inf")

    def changed(self) -> None:
        """A routing row changed: drop this process's entries now, and tell every process
        (this one included) once the change commits."""
        self.clear()
        transaction.on_commit(self._committed)

    def _committed(self) -> None:
        _shared_version_bump()
        self.clear()

    def __len__(self) -> int:
        return len(self._entries)


routing_cache = RoutingCache()


def routing_changed(sender: Any = None, **kwargs: Any) -> None:
    """Signal receiver (post_save, post_delete) for the models routing reads."""
    routing_cache.changed()
