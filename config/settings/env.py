"""Strict access to the environment.

django-environ does the parsing; these wrappers make every failure name the variable,
so a typo in production stops start-up with a message an operator can act on.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()


def _read(kind: str, name: str, default: Any) -> Any:
    if name not in os.environ:
        return default
    parser = getattr(env, kind)
    try:
        return parser(name)
    except (ValueError, TypeError, ImproperlyConfigured) as error:
        raise ImproperlyConfigured(
            f"Environment variable {name}={os.environ[name]!r} is not a valid {kind}: {error}"
        ) from error


def env_str(name: str, default: str) -> str:
    return _read("str", name, default)


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    value = _read("int", name, default)
    if value < minimum:
        raise ImproperlyConfigured(f"Environment variable {name}={value} must be >= {minimum}.")
    return value


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    value = _read("float", name, default)
    if value < minimum:
        raise ImproperlyConfigured(f"Environment variable {name}={value} must be >= {minimum}.")
    return value


def env_bool(name: str, default: bool) -> bool:
    if name not in os.environ:
        return default
    raw = os.environ[name].strip().lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"Environment variable {name}={raw!r} is not a boolean.")


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env_str(name, default)
    if value not in choices:
        raise ImproperlyConfigured(
            f"Environment variable {name}={value!r} must be one of: {', '.join(choices)}."
        )
    return value


DATA_DIR = Path(env_str("TRIGGERFISH_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)
