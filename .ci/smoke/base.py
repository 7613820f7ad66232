"""What every part of the production smoke shares: where the services are, how long it
waits, the variables it keeps out of the product's environment, and the failure a step
raises."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
RUN_ID = os.getpid()
PG_ADMIN = ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres"]
PG_URL = "postgres://postgres@127.0.0.1:5432/{name}"
REDIS_BROKER_URL = "redis://127.0.0.1:6379/5"
REDIS_URL = "redis://127.0.0.1:6379/6"
RABBITMQ_VHOST = f"triggerfish_smoke_{RUN_ID}"
RABBITMQ_URL = f"amqp://guest:guest@127.0.0.1:5672/{RABBITMQ_VHOST}"
START_SECONDS = 60.0
RUN_SECONDS = 45.0
STOP_SECONDS = 15.0
# Variables that would point the product at a developer's or CI's own configuration.
CONFIG_VARIABLES = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "REDIS_URL",
    "BASE_URL",
    "SECRET_KEY",
    "RESULTS_STORAGE",
    "TRIGGERFISH_DATA_DIR",
    "TRIGGERFISH_SECRETS_KEY",
    "TRIGGERFISH_COMPONENTS",
    "CELERY_TASK_DEFAULT_QUEUE",
    "CELERY_BEAT_SCHEDULER",
    "DJANGO_SETTINGS_MODULE",
    "PYTHONPATH",
    "VIRTUAL_ENV",
)


class SmokeFailure(Exception):
    pass
