#!/usr/bin/env python3
"""Set up and run Triggerfish from a fresh clone with nothing but Python 3.11+.

    python3 dev.py run [--host 127.0.0.1] [--port 8000]   # install, then `manage.py serve`
    python3 dev.py manage COMMAND [arguments]              # install, then `manage.py COMMAND`
    python3 dev.py test [pytest arguments]                 # install with test extras, then pytest

Each creates ``.venv`` on first use and reinstalls only when ``pyproject.toml`` changes.
``manage`` runs any Django command with the virtualenv's Python (``python3 dev.py manage
createsuperuser``): the system's ``python3`` has no Django.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("TRIGGERFISH_VENV", ROOT / ".venv"))
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_environment(extras: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be run by an older python3
        sys.exit("Triggerfish needs Python 3.11 or newer.")
    if not PYTHON.exists():
        print(f"Creating {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    fingerprint = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    marker = VENV / ".triggerfish-installed"
    installed = marker.read_text().split(":") if marker.exists() else []
    # An install with the test extras also serves `run`; only a changed pyproject.toml
    # (or missing extras) installs again.
    if installed[:1] == [fingerprint] and (not extras or installed[1:] == [extras]):
        return
    target = f".[{extras}]" if extras else "."
    print(f"Installing {target} into {VENV} ...", flush=True)
    subprocess.run(
        [
            str(PYTHON),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-e",
            target,
        ],
        cwd=ROOT,
        check=True,
    )
    marker.write_text(f"{fingerprint}:{extras}")


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "manage", "test"}:
        print(__doc__)
        return 2
    command, rest = sys.argv[1], sys.argv[2:]
    if command == "run":
        ensure_environment("")
        argv = [str(PYTHON), "manage.py", "serve", *rest]
    elif command == "manage":
        ensure_environment("")
        argv = [str(PYTHON), "manage.py", *rest]
    else:
        ensure_environment("test")
        # Tests keep their database, broker and results apart from a running `serve`.
        os.environ.setdefault("TRIGGERFISH_DATA_DIR", str(ROOT / "var" / "test"))
        argv = [str(PYTHON), "-m", "pytest", *rest]
    os.chdir(ROOT)
    if os.name == "nt":
        return subprocess.call(argv)
    os.execv(argv[0], argv)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
