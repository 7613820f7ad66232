"""Celery: the broker, the worker's behaviour and beat's scheduler.

The default broker needs no server: kombu's ``filesystem://`` transport works across the
processes of one machine (``manage.py serve``). Production names Redis or RabbitMQ in
``CELERY_BROKER_URL``. Either way the database row of an execution is the record of
accepted work; a lost message costs latency, never data (see executions.recovery).
"""

from kombu.transport import TRANSPORT_ALIASES

from .env import DATA_DIR, env_str
from .triggerfish import TRIGGERFISH_RECOVERY_SWEEP_SECONDS

REDIS_URL = env_str("REDIS_URL", "")

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # Writes each message atomically; the stock transport lets a consumer in another
    # process read a half-written one (config/filesystem_broker.py).
    TRANSPORT_ALIASES["filesystem"] = "config.filesystem_broker:Transport"
    _broker_dir = DATA_DIR / "broker"
    (_broker_dir / "queue").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "control").mkdir(parents=True, exist_ok=True)
    # Polling every 10 ms keeps publish-to-run latency near 10 ms (measured, see
    # shared notes on the embedded broker); the default 1 s would dominate sync runs.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "polling_interval": 0.01,
    }
else:
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        # Reuses one Redis client per channel to publish (config/redis_broker.py).
        TRANSPORT_ALIASES["redis"] = TRANSPORT_ALIASES["rediss"] = "config.redis_broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {}

# Results live in the database (Execution, StepResult); Celery's own result store is unused.
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A task is acknowledged only after it ran, so a worker that dies mid-run leaves the
# message for another worker; the runner's status claim keeps the run from happening twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes the database connection before and after every task unless
# this is set (then only every 2 x N tasks): on PostgreSQL a new connection per run, ≈ 4 ms
# of a synchronous caller's wait. Connections follow Django's own rules instead
# (CONN_MAX_AGE, CONN_HEALTH_CHECKS): executions/signals.py calls close_old_connections()
# around every task, as Django does around every request.
CELERY_DB_REUSE_MAX = 1000
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# The project's subclass of django-celery-beat's DatabaseScheduler: same tables, batched
# loading and publishing, DST-correct fire times (docs/schedules.md). The stock
# "django_celery_beat.schedulers:DatabaseScheduler" reads the same rows and still works.
CELERY_BEAT_SCHEDULER = env_str(
    "CELERY_BEAT_SCHEDULER", "triggers.schedules.scheduler:TriggerfishScheduler"
)
# Where tasks go unless routed: lets a test or bench point beat and a worker at one queue.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_BEAT_SCHEDULE = {
    "requeue-stale-executions": {
        "task": "executions.requeue_stale",
        # Often, so a dead worker's run is failed (or retried) within seconds; each pass is a
        # few indexed queries, and a stale row is still re-sent at most once per
        # TRIGGERFISH_REQUEUE_AFTER_SECONDS.
        "schedule": TRIGGERFISH_RECOVERY_SWEEP_SECONDS,
    },
    # Results past TRIGGERFISH_RESULT_RETENTION_DAYS; hourly so a day's backlog drains in
    # batches and the embedded notify markers stay few.
    "prune-results": {
        "task": "executions.prune_results",
        "schedule": 3600.0,
    },
}
# Task modules outside an app's tasks.py, which autodiscovery would not import.
CELERY_IMPORTS = ["executions.retention", "triggers.schedules.tasks"]
