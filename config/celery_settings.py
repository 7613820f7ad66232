"""Django's ``CELERY_*`` settings as plain module attributes, for Celery's configuration.

Imported by Celery (config/celery.py) when it first reads its configuration, after Django's
settings are configured; the settings do not change while a process runs. Celery's own
defaults are written in too, so every key Celery reads is found at the first place it
looks: a publish reads seven keys, and a key missing there costs a dozen failing lookups
down Celery's chain of old and new names.

Keys are Celery's own lowercase names (``CELERY_TASK_SERIALIZER`` → ``task_serializer``),
read without a namespace. With ``namespace="CELERY"`` Celery takes the prefixed names that
equal a Celery 3 name (``CELERY_TIMEZONE``, ``CELERY_RESULT_BACKEND``, ``CELERY_IMPORTS`` …)
for old-style settings and prints a ``CDeprecationWarning`` for each at every start. A
``CELERY_*`` setting that is no Celery key (``CELERY_DB_REUSE_MAX``, read by Celery's Django
fix-up under that name) keeps its name. Defaults of options Celery deprecates are left
out: Celery warns about every deprecated option the module sets, even to its default.
"""

from collections.abc import Iterable
from typing import cast

from celery.app.defaults import NAMESPACES, SETTING_KEYS, Option, flatten
from django.conf import settings

_prefix = "CELERY_"


def _celery_key(django_name: str) -> str:
    key = django_name.removeprefix(_prefix).lower()
    return key if key in SETTING_KEYS else django_name


_values = {
    key: option.default
    # celery-types declare flatten() as returning a dict; it yields (key, Option) pairs.
    for key, option in cast("Iterable[tuple[str, Option]]", flatten(NAMESPACES))
    if not (option.deprecate_by or option.remove_by)
}
_values.update(
    {
        _celery_key(name): getattr(settings, name)
        for name in dir(settings)
        if name.startswith(_prefix)
    }
)
globals().update(_values)
