"""The Celery app. Workers: ``celery -A config worker``; schedules: ``celery -A config beat``."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("triggerfish")
# The CELERY_* settings, copied once into a plain module (config/celery_settings.py) when
# Celery first reads its configuration: every publish reads several keys, and each miss on
# Django's lazy settings object costs a chain of failing lookups. The module holds Celery's
# own lowercase names, so no namespace: with namespace="CELERY", names such as
# CELERY_TIMEZONE read as Celery 3 settings and every start warns about each of them.
app.config_from_object("config.celery_settings")
app.autodiscover_tasks()
