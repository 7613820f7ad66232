"""``dev.py``, the entry point of a fresh clone, run as a user runs it: by a ``python3``
that has no Django, as a subprocess.

The interpreter is this test run's own, started with ``-I -S`` (no site-packages, no
PYTHON* variables): the system's ``python3`` of a fresh clone, which cannot import Django.
``TRIGGERFISH_VENV`` names the virtualenv this test run uses, already installed by
``dev.py test``, so the commands run without installing again.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_SECONDS = 120


def dev_py(*arguments: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRIGGERFISH_VENV": sys.prefix, "TRIGGERFISH_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-I", "-S", "dev.py", *arguments],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
    )


@pytest.fixture(scope="module", autouse=True)
def _interpreter_without_django() -> None:
    bare = subprocess.run(
        [sys.executable, "-I", "-S", "-c", "import django"], capture_output=True, text=True
    )
    # What the README's `python manage.py …` hit on a fresh clone.
    assert "No module named 'django'" in bare.stderr, bare


def test_manage_runs_a_django_command_with_the_virtualenvs_python(tmp_path: Path) -> None:
    script = "import sys, django; print('prefix:', sys.prefix); print('argv:', sys.argv[1:])"
    result = dev_py("manage", "shell", "-c", script, data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"prefix: {sys.prefix}" in result.stdout.splitlines(), result.stdout


def test_manage_passes_arguments_and_the_exit_status_through(tmp_path: Path) -> None:
    # An argument with spaces stays one argument; a failing command fails dev.py.
    result = dev_py(
        "manage", "shell", "-c", "print('two words'); raise SystemExit(3)", data_dir=tmp_path
    )
    assert result.returncode == 3, result
    assert "two words" in result.stdout.splitlines()

    unknown = dev_py("manage", "no_such_command", data_dir=tmp_path)
    assert unknown.returncode == 1
    assert "Unknown command: 'no_such_command'" in unknown.stderr


def test_manage_reaches_the_products_own_commands(tmp_path: Path) -> None:
    result = dev_py("manage", "help", "create_customer_user", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "usage: manage.py create_customer_user" in result.stdout


def test_an_unknown_dev_command_prints_the_usage_naming_manage(tmp_path: Path) -> None:
    result = dev_py("nonsense", data_dir=tmp_path)
    assert result.returncode == 2
    assert "python3 dev.py manage COMMAND" in result.stdout
