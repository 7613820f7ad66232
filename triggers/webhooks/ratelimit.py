"""Per-endpoint rate limit: at most N accepted requests in any sliding one-second window.

The count must be shared by every web process and host, and exact under concurrency:

- with ``REDIS_URL``: one sorted set per token, trimmed, counted and appended by a Lua
  script, which Redis runs atomically (no two requests can both see 49);
- without it (the embedded default, one machine): a small file per token under the data
  folder, read-trimmed-appended under an exclusive ``flock``, which every process on the
  machine honours.

When Redis cannot be reached the limiter fails open (accepts and logs a warning) unless
``TRIGGERFISH_RATE_LIMIT_FAIL_OPEN`` is false, in which case the request gets a 503.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import math
import os
import struct
import time
import uuid
from dataclasses import dataclass
from functools import cache

from django.conf import settings

from core.data_dir import data_path
from core.redis import redis_client

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 1.0


class RateLimiterUnavailable(Exception):
    """The shared counter could not be reached and the limiter fails closed."""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_seconds: int = 0


# KEYS[1]: the token's set. ARGV: now (ms), window (ms), limit, member.
_SLIDING_WINDOW_LUA = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ARGV[2])
local count = redis.call('ZCARD', KEYS[1])
if count < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + ARGV[2] - ARGV[1]}
"""


@cache
def _redis_script(url: str):
    return redis_client(url).register_script(_SLIDING_WINDOW_LUA)


def _redis_hit(token: str, limit: int) -> Decision:
    now_ms = int(time.time() * 1000)
    window_ms = int(WINDOW_SECONDS * 1000)
    member = f"{now_ms}-{uuid.uuid4().hex}"
    allowed, wait_ms = _redis_script(settings.REDIS_URL)(
        keys=[f"triggerfish:rate:{token}"], args=[now_ms, window_ms, limit, member]
    )
    return Decision(bool(allowed), max(1, math.ceil(int(wait_ms) / 1000)) if not allowed else 0)


_STAMP = struct.Struct("<d")


def _file_hit(token: str, limit: int) -> Decision:
    folder = data_path("ratelimit")
    folder.mkdir(parents=True, exist_ok=True)
    # Tokens are URL-safe already; hashing keeps file names short and uniform.
    path = folder / hashlib.sha256(token.encode()).hexdigest()[:32]
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        raw = os.pread(descriptor, _STAMP.size * (limit + 1), 0)
        now = time.time()
        stamps = [
            s
            for (s,) in _STAMP.iter_unpack(raw[: len(raw) - len(raw) % _STAMP.size])
            if s > now - WINDOW_SECONDS
        ]
        if len(stamps) >= limit:
            oldest = min(stamps)
            return Decision(False, max(1, math.ceil(oldest + WINDOW_SECONDS - now)))
        stamps.append(now)
        data = b"".join(_STAMP.pack(s) for s in stamps[-limit:])
        os.pwrite(descriptor, data, 0)
        os.ftruncate(descriptor, len(data))
        return Decision(True)
    finally:
        os.close(descriptor)  # closing releases the lock


def rate_limit_hit(*, token: str, limit: int) -> Decision:
    """Count one request against the token's window; say whether it may proceed."""
    if not settings.REDIS_URL:
        return _file_hit(token, limit)
    try:
        return _redis_hit(token, limit)
    except Exception as error:  # redis-py raises several connection/timeout types
        if settings.TRIGGERFISH_RATE_LIMIT_FAIL_OPEN:
            logger.warning(
                "Rate limiter unavailable, accepting the request: %s", type(error).__name__
            )
            return Decision(True)
        raise RateLimiterUnavailable from error


def rate_limit_message(token: str, limit: int) -> str:
    return (
        f"Endpoint with id: {token} has exceeded maximum allowed throughput of {limit} "
        "requests/second. Please throttle your requests."
    )
