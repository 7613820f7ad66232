"""The Redis client every module shares: one per URL and timeout set, made once per process.

A ``redis.Redis`` holds a connection pool, so building one per call would open a
connection per call. Callers differ in how long they may wait, so the timeouts are
parameters: the request hot path (routing version, rate limit) gives up after half a
second and fails over (to the database, or open/closed), while the sync-notify waiter
subscribes and blocks in reads of up to a second, so it allows more.
"""

from __future__ import annotations

from functools import cache

import redis

HOT_PATH_TIMEOUT_SECONDS = 0.5
# Ping an idle pooled connection before reuse when it has been quiet this long, so a
# connection Redis (or a proxy) dropped fails fast instead of on the first command.
HEALTH_CHECK_INTERVAL_SECONDS = 30


@cache
def redis_client(
    url: str,
    *,
    connect_timeout: float = HOT_PATH_TIMEOUT_SECONDS,
    read_timeout: float = HOT_PATH_TIMEOUT_SECONDS,
    health_check_interval: int = HEALTH_CHECK_INTERVAL_SECONDS,
) -> redis.Redis:
    """The process's client for ``url`` with these timeouts (seconds)."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=connect_timeout,
        socket_timeout=read_timeout,
        health_check_interval=health_check_interval,
    )
