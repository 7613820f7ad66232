"""Configuration by environment (SPEC §6): a bad value stops start-up, naming the variable.

Each case starts a fresh interpreter, as a process manager would, because settings are
read once at import.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

# Variables a test run may carry (CI's second pass sets some) that would mask the case.
TRIGGERFISH_VARIABLES = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "REDIS_URL",
    "BASE_URL",
    "SECRET_KEY",
    "DEBUG",
    "RESULTS_STORAGE",
    "TRIGGERFISH_MAX_BODY_BYTES",
    "TRIGGERFISH_SYNC_TIMEOUT_SECONDS",
    "TRIGGERFISH_RATE_LIMIT_PER_SECOND",
)


def start_django(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in TRIGGERFISH_VARIABLES}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        TRIGGERFISH_DATA_DIR=str(tmp_path / "data"),
        **variables,
    )
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_defaults_start_with_nothing_configured(tmp_path: Path) -> None:
    started = start_django(tmp_path)
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "started"
    # No secret in the repository: one is generated into the data folder.
    assert (tmp_path / "data" / "secret_key").read_text().strip()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TRIGGERFISH_MAX_BODY_BYTES", "abc"),
        ("TRIGGERFISH_MAX_BODY_BYTES", "0"),
        ("TRIGGERFISH_SYNC_TIMEOUT_SECONDS", "soon"),
        ("TRIGGERFISH_RATE_LIMIT_PER_SECOND", "-5"),
        ("RESULTS_STORAGE", "ftp"),
        ("DATABASE_URL", "nonsense://"),
        ("DATABASE_URL", "not a url at all"),
        ("DEBUG", "maybe"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(
    tmp_path: Path, variable: str, value: str
) -> None:
    started = start_django(tmp_path, **{variable: value})
    assert started.returncode != 0
    assert "started" not in started.stdout
    # The message of the exception that stopped start-up, which may span lines.
    marker = "django.core.exceptions.ImproperlyConfigured:"
    assert marker in started.stderr, started.stderr[-2000:]
    message = started.stderr.rsplit(marker, 1)[1]
    assert variable in message, started.stderr[-2000:]
