"""Django's ``CELERY_*`` settings as plain module attributes, for Celery's configuration.

Imported by Celery (config/celery.py) when it first reads its configuration, after Django's
settings are configured; the settings do not change while a process runs. Celery's own
defaults are written in too, so every key Celery reads is found at the first place it
looks: a publish reads seven keys, and a key missing there costs a dozen failing lookups
down Celery's chain of old and new names.
"""

from celery.app.defaults import DEFAULTS
from django.conf import settings

_prefix = "CELERY_"
_values = {f"{_prefix}{key.upper()}": value for key, value in DEFAULTS.items()}
_values.update(
    {name: getattr(settings, name) for name in dir(settings) if name.startswith(_prefix)}
)
globals().update(_values)
