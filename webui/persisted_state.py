"""The instance page's Saved state: what the instance's flows remember (SPEC §7), read
only, as pretty JSON. The flow and instance scopes only: the integration scope is shared
by every customer's instance, so it is never shown here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from instances.models import Instance
from state.editing import state_instance_read

# Past this many characters a value is cut, with a note: the page stays readable with a
# 1 MiB value in it.
WIZARD_VALUE_MAX_CHARS = 1500


@dataclass(frozen=True)
class StateValueView:
    key: str
    text: str
    full_length: int  # the JSON's length, when it was cut; else 0

    @property
    def shown_length(self) -> int:
        return len(self.text)


@dataclass(frozen=True)
class StateScopeView:
    title: str
    values: list[StateValueView]


def _value_view(key: str, value: Any) -> StateValueView:
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
    if len(text) <= WIZARD_VALUE_MAX_CHARS:
        return StateValueView(key, text, 0)
    return StateValueView(key, text[:WIZARD_VALUE_MAX_CHARS], len(text))


def instance_state_views(instance: Instance) -> list[StateScopeView]:
    """The instance scope, then each flow's, keys in order; a scope with no keys is
    listed (empty) so the page says the flow has saved nothing yet."""
    state = state_instance_read(instance=instance)
    scopes = [StateScopeView("Shared by all flows", _values(state["instance"]))]
    scopes += [
        StateScopeView(f"Flow “{name}”", _values(values)) for name, values in state["flows"].items()
    ]
    return scopes


def _values(scope: dict[str, Any]) -> list[StateValueView]:
    return [_value_view(key, scope[key]) for key in sorted(scope)]
