"""The one error a definition can raise: every problem found, keyed by where it is."""

from __future__ import annotations

import re
from collections.abc import Iterable

_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class DefinitionError(Exception):
    """A definition was rejected. ``errors`` maps a path such as
    ``flows[0].trigger.schedule.cron`` ("" or ``definition`` for the whole) to a message."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = [f"{path}: {message}" if path else message for path, message in self.errors.items()]
        return "Invalid integration definition:\n" + "\n".join(f"  {line}" for line in lines)


def path_format(location: Iterable[str | int]) -> str:
    """``("flows", 0, "trigger", "schedule", "cron")`` -> ``flows[0].trigger.schedule.cron``.

    Names that are not plain identifiers (header names, keys with spaces) are quoted the
    way step references quote them: ``response.headers['x-acme']``."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _PLAIN_NAME.fullmatch(part):
            path += f".{part}" if path else part
        else:
            path += f"[{part!r}]"
    return path


class ErrorCollector:
    """Gathers messages by path; a second message for the same path is appended."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def add(self, path: str, message: str) -> None:
        if path in self.errors:
            if message not in self.errors[path]:
                self.errors[path] = f"{self.errors[path]} {message}"
        else:
            self.errors[path] = message

    def raise_if_any(self) -> None:
        if self.errors:
            raise DefinitionError(self.errors)
