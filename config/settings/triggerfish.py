"""The product's own settings (SPEC §6)."""

from django.core.exceptions import ImproperlyConfigured

from .env import DATA_DIR, env_bool, env_float, env_int, env_str

BASE_URL = env_str("BASE_URL", "http://127.0.0.1:8000").rstrip("/")
TRIGGERFISH_MAX_BODY_BYTES = env_int("TRIGGERFISH_MAX_BODY_BYTES", 10 * 1024 * 1024, minimum=1)
TRIGGERFISH_SYNC_TIMEOUT_SECONDS = env_float("TRIGGERFISH_SYNC_TIMEOUT_SECONDS", 29.0, minimum=0.1)
TRIGGERFISH_RATE_LIMIT_PER_SECOND = env_int("TRIGGERFISH_RATE_LIMIT_PER_SECOND", 50, minimum=1)
# Step results up to this size are kept inline in the database row; larger ones go to the
# results storage, so large binaries never bloat the executions table.
TRIGGERFISH_INLINE_RESULT_BYTES = env_int("TRIGGERFISH_INLINE_RESULT_BYTES", 64 * 1024, minimum=0)
# An execution still `queued` this long after it was accepted is re-enqueued by the
# recovery sweep (its broker message was lost or never sent).
TRIGGERFISH_REQUEUE_AFTER_SECONDS = env_int("TRIGGERFISH_REQUEUE_AFTER_SECONDS", 60, minimum=1)
TRIGGERFISH_RESULT_RETENTION_DAYS = env_int("TRIGGERFISH_RESULT_RETENTION_DAYS", 30, minimum=1)
# Finished executions (payload, steps, logs, result objects) are deleted this long after
# they ended; an integration's ``retention.days`` overrides it (docs/operations.md).
TRIGGERFISH_EXECUTION_RETENTION_DAYS = env_int(
    "TRIGGERFISH_EXECUTION_RETENTION_DAYS", 30, minimum=1
)
# How long a signed result URL (a sync 303's or 202's Location) works after it is handed out.
# S3 caps presigned URLs at 7 days.
TRIGGERFISH_RESULT_URL_SECONDS = env_int("TRIGGERFISH_RESULT_URL_SECONDS", 3600, minimum=1)
if TRIGGERFISH_RESULT_URL_SECONDS > 7 * 24 * 3600:
    raise ImproperlyConfigured(
        "Environment variable TRIGGERFISH_RESULT_URL_SECONDS must be <= 604800 (7 days)."
    )
# A sync result at most this large (and text-like) is answered in the body when the caller
# prefers a direct response; a larger one is redirected (SPEC §3: 5 MB).
TRIGGERFISH_SYNC_DIRECT_MAX_BYTES = env_int(
    "TRIGGERFISH_SYNC_DIRECT_MAX_BYTES", 5 * 1024 * 1024, minimum=0
)
# Custom components: comma-separated dotted module paths, imported at start-up.
TRIGGERFISH_COMPONENTS = [
    path.strip() for path in env_str("TRIGGERFISH_COMPONENTS", "").split(",") if path.strip()
]
# When Redis (the shared rate-limit counter) is unreachable: accept and log (true), or
# answer 503 (false).
TRIGGERFISH_RATE_LIMIT_FAIL_OPEN = env_bool("TRIGGERFISH_RATE_LIMIT_FAIL_OPEN", True)
TRIGGERFISH_DATA_DIR = DATA_DIR
# An execution `running` longer than this is taken for a lost worker and marked failed.
TRIGGERFISH_LOST_RUNNING_AFTER_SECONDS = env_int(
    "TRIGGERFISH_LOST_RUNNING_AFTER_SECONDS", 3600, minimum=60
)
# A worker stamps the executions it runs this often; one whose stamp is older than
# TRIGGERFISH_LOST_HEARTBEAT_SECONDS is taken for lost (its worker died) and failed by the
# recovery sweep, which runs every TRIGGERFISH_RECOVERY_SWEEP_SECONDS from beat.
TRIGGERFISH_HEARTBEAT_SECONDS = env_float("TRIGGERFISH_HEARTBEAT_SECONDS", 5.0, minimum=0.1)
TRIGGERFISH_LOST_HEARTBEAT_SECONDS = env_float(
    "TRIGGERFISH_LOST_HEARTBEAT_SECONDS", 30.0, minimum=1.0
)
if TRIGGERFISH_LOST_HEARTBEAT_SECONDS < 2 * TRIGGERFISH_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured(
        "Environment variable TRIGGERFISH_LOST_HEARTBEAT_SECONDS must be at least twice "
        "TRIGGERFISH_HEARTBEAT_SECONDS, or a live run could be taken for lost."
    )
TRIGGERFISH_RECOVERY_SWEEP_SECONDS = env_float(
    "TRIGGERFISH_RECOVERY_SWEEP_SECONDS", 15.0, minimum=1.0
)
# Persisted state (SPEC §7): one value at most this many bytes of JSON (UTF-8). A larger
# write fails its step naming the key and this limit, and the run saves no state.
TRIGGERFISH_STATE_MAX_VALUE_BYTES = env_int(
    "TRIGGERFISH_STATE_MAX_VALUE_BYTES", 1024 * 1024, minimum=1
)
# Polling triggers (SPEC §8): the sources of one batch of polling fires are asked side by
# side by at most this many threads per worker task (they wait on the network, not the
# CPU); one fire alone is asked on the task's own thread.
TRIGGERFISH_POLL_CONCURRENCY = env_int("TRIGGERFISH_POLL_CONCURRENCY", 16, minimum=1)
# Bulk replay (SPEC §10): a replay job starts at most this many replays a second, and
# selects at most TRIGGERFISH_REPLAY_MAX_EXECUTIONS executions (a larger match is refused
# with the count, so a too-wide filter is narrowed rather than queued for days).
TRIGGERFISH_REPLAY_PER_SECOND = env_float("TRIGGERFISH_REPLAY_PER_SECOND", 20.0, minimum=0.01)
TRIGGERFISH_REPLAY_MAX_EXECUTIONS = env_int("TRIGGERFISH_REPLAY_MAX_EXECUTIONS", 100_000, minimum=1)
# Alerts (SPEC §9): how often each worker process runs the periodic alert checks (overdue
# schedules, long runs, failing polls, endpoint answers, delivery retries); one process at
# a time does, under a lease.
TRIGGERFISH_ALERT_CHECK_SECONDS = env_float("TRIGGERFISH_ALERT_CHECK_SECONDS", 30.0, minimum=0.5)
