"""Where a process keeps state shared with the other processes on its machine when there
is no Redis (the embedded default runs web, worker and beat on one machine).

Three modules fall back to a file here when ``REDIS_URL`` is empty, and each keeps its own
file logic on purpose: the three files are different primitives, not one store.

- ``core.cache``: a *version* every process compares (Redis ``INCR``/``GET``; here a
  file replaced atomically, compared by its stat);
- ``triggers.webhooks.ratelimit``: an exact *counter* under concurrency (a Lua script in
  Redis; here a file read, trimmed and rewritten under ``flock``);
- ``executions.notify``: an *event* per execution that a waiter must not miss (Redis
  pub/sub; here a marker file per execution that outlives the finish, pruned later).

What they share is this folder, named once here.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings


def data_path(*parts: str) -> Path:
    """``parts`` under the data folder (``TRIGGERFISH_DATA_DIR``), read from settings on
    every call so a test's override applies."""
    return Path(settings.TRIGGERFISH_DATA_DIR).joinpath(*parts)
