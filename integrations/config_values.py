"""Checking the values an instance gives its integration's config variables.

Used by definition validation (for defaults) and by whoever stores instance values (API,
wizard, admin): every value goes through :func:`config_value_clean`, so a stored value
always has its variable's type.

Values of ``secret`` variables (and their defaults) are stored sealed
(``integrations.secrets``): :func:`config_values_seal` runs on every save of an instance's
values and ``executions.run_definitions.config_vars_for`` opens them for a run or a check, the
only place they are.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from typing import Any

from integrations.models import ConfigVariableType, Integration
from integrations.schedules import ScheduleError, schedule_value_clean
from integrations.secrets import (
    instance_value_context,
    secret_open_if_sealed,
    secret_seal,
)

# Types whose empty string counts as "no value" for ``required``.
_TEXT_TYPES = {ConfigVariableType.STRING, ConfigVariableType.SECRET, ConfigVariableType.PICKLIST}


class ConfigValueError(Exception):
    """Some config values were rejected. ``fields`` maps each bad key to a message."""

    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = dict(fields)
        super().__init__(
            "Invalid config values: " + "; ".join(f"{k}: {m}" for k, m in self.fields.items())
        )


def json_problems(value: Any, location: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple, str]]:
    """Where ``value`` is not plain JSON that every supported database stores as given:
    non-string keys, NaN/Infinity, NUL characters (PostgreSQL rejects them), or other
    Python types (dates from YAML, bytes, sets)."""
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            yield location, "Numbers must be finite (no NaN or Infinity)."
    elif isinstance(value, str):
        if "\x00" in value:
            yield location, "Text may not contain NUL characters."
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_problems(item, (*location, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                yield (*location, str(key)), f"Keys must be text, not {type(key).__name__}."
            elif "\x00" in key:
                yield (*location, key), "Keys may not contain NUL characters."
            else:
                yield from json_problems(item, (*location, key))
    else:
        yield location, f"A {type(value).__name__} is not a JSON value; quote it as text."


def config_value_clean(*, value_type: str, value: Any, options: list[str] | None = None) -> Any:
    """``value`` as stored for a variable of ``value_type``, or ValueError saying why not."""
    if value_type in (ConfigVariableType.STRING, ConfigVariableType.SECRET):
        if not isinstance(value, str):
            raise ValueError(f"Expected text, got {_type_name(value)}.")
        if "\x00" in value:
            raise ValueError("Text may not contain NUL characters.")
        return value
    if value_type == ConfigVariableType.BOOLEAN:
        if not isinstance(value, bool):
            raise ValueError(f"Expected true or false, got {_type_name(value)}.")
        return value
    if value_type == ConfigVariableType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"Expected a number, got {_type_name(value)}.")
        if not math.isfinite(value):
            raise ValueError("Expected a finite number.")
        return value
    if value_type == ConfigVariableType.PICKLIST:
        choices = options or []
        if value not in choices or not isinstance(value, str):
            raise ValueError(f"Expected one of {', '.join(map(repr, choices))}; got {value!r}.")
        return value
    if value_type == ConfigVariableType.SCHEDULE:
        try:
            return schedule_value_clean(value)
        except ScheduleError as error:
            where = f"{error.field}: " if error.field else ""
            raise ValueError(f"{where}{error}") from error
    if value_type == ConfigVariableType.JSON:
        for location, message in json_problems(value):
            where = ".".join(map(str, location))
            raise ValueError(f"{where}: {message}" if where else message)
        return value
    raise ValueError(f"Unknown config variable type {value_type!r}.")


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "text"}.get(
        type(value), f"a {type(value).__name__}"
    )


def config_values_clean(*, integration: Integration, values: dict[str, Any]) -> dict[str, Any]:
    """Every config variable of ``integration`` mapped to its cleaned value: the given one,
    else the default, else None. Raises ConfigValueError naming each bad key (unknown keys,
    wrong types, required variables with neither value nor default)."""
    if not isinstance(values, dict):
        raise ConfigValueError({"": "Config values must be a mapping of key to value."})
    variables = list(integration.config_variables.order_by("position"))
    known = {variable.key for variable in variables}
    fields = {key: "Unknown config variable." for key in values if key not in known}
    cleaned: dict[str, Any] = {}
    for variable in variables:
        value = values.get(variable.key)
        if value is None:
            value = variable.default_opened()
        if variable.type == ConfigVariableType.PICKLIST and value == "":
            value = None
        if value is None or (value == "" and variable.type in _TEXT_TYPES):
            if variable.required:
                fields[variable.key] = "A value is required."
            else:
                cleaned[variable.key] = value
            continue
        try:
            cleaned[variable.key] = config_value_clean(
                value_type=variable.type, value=value, options=variable.options
            )
        except ValueError as error:
            fields[variable.key] = str(error)
    if fields:
        raise ConfigValueError(fields)
    return cleaned


def config_values_seal(
    *, instance_id: uuid.UUID, secret_keys: set[str], values: dict[str, Any]
) -> dict[str, Any]:
    """An instance's values as stored: each non-empty secret sealed for its instance and key
    (a value already sealed there stays as it is, so saving stored values again changes
    nothing; anything else, whatever it looks like, is new text and is sealed). A value
    sealed for a key that is no longer secret (a new version changed its type) is opened."""
    stored: dict[str, Any] = {}
    for key, value in (values or {}).items():
        context = instance_value_context(instance_id, key)
        if key in secret_keys and isinstance(value, str) and value:
            stored[key] = secret_seal(value, context=context)
        elif key in secret_keys:
            stored[key] = value
        else:
            stored[key] = secret_open_if_sealed(value, context=context)
    return stored


def config_values_opened(instance: Any) -> dict[str, Any]:
    """The instance's stored values with its secrets opened (no defaults filled in)."""
    return {
        key: secret_open_if_sealed(value, context=instance_value_context(instance.pk, key))
        for key, value in (instance.config_values or {}).items()
    }
