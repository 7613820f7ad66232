"""An integration version against the one before it: a unified diff of their exports.

Both sides are exported without secrets (what the admin may show) and dumped as YAML the
way ``export_integration`` writes them, so the diff reads like a diff of two files.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from integrations.definitions.parsing import definition_dump
from integrations.definitions.services import integration_export
from integrations.models import Integration

DiffLineKind = Literal["added", "removed", "hunk", "file", "same"]


@dataclass(frozen=True)
class DiffLine:
    kind: DiffLineKind
    text: str


@dataclass(frozen=True)
class DefinitionDiff:
    integration: Integration
    # The version numbered one less, same name; None for a first version.
    previous: Integration | None
    lines: list[DiffLine]

    @property
    def changed(self) -> bool:
        return any(line.kind in ("added", "removed") for line in self.lines)


def _line_kind(line: str) -> DiffLineKind:
    if line.startswith(("+++", "---")):
        return "file"
    if line.startswith("@@"):
        return "hunk"
    if line.startswith("+"):
        return "added"
    if line.startswith("-"):
        return "removed"
    return "same"


def _yaml_lines(integration: Integration) -> list[str]:
    return definition_dump(integration_export(integration=integration), fmt="yaml").splitlines()


def integration_diff_previous(*, integration: Integration, context: int = 3) -> DefinitionDiff:
    """The diff from version ``integration.version - 1`` of the same name to this one."""
    previous = Integration.objects.filter(
        name=integration.name, version=integration.version - 1
    ).first()
    if previous is None:
        return DefinitionDiff(integration=integration, previous=None, lines=[])
    unified = difflib.unified_diff(
        _yaml_lines(previous),
        _yaml_lines(integration),
        fromfile=f"{previous.name} v{previous.version}",
        tofile=f"{integration.name} v{integration.version}",
        n=context,
        lineterm="",
    )
    return DefinitionDiff(
        integration=integration,
        previous=previous,
        lines=[DiffLine(kind=_line_kind(line), text=line) for line in unified],
    )
