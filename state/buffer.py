"""A run's persisted state: the snapshot it reads and the writes it keeps until it succeeds.

No database here: ``state.services`` loads the snapshot (``loader``) and commits the
writes. Reads see the run's own earlier writes, else the snapshot, which is loaded once,
on first use, so a run that never touches state costs no query. Writes are recorded per
scope and key as what the commit must do — set a value, delete the key, or add a number
to whatever the row holds by then (so two runs incrementing one key both count).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from integrations.components.context import STATE_SCOPES, StateAccess, StepError
from integrations.references import value_kind_describe
from state.models import STATE_KEY_MAX_LENGTH

# SPEC §7: the 1,000th key of a scope is allowed, the 1,001st is not.
STATE_MAX_KEYS_PER_SCOPE = 1000

Snapshot = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class StateOwner:
    """Whose state a run reads and writes: its instance, its flow's name, its integration's
    name (names, so a redeploy onto a new version keeps both)."""

    instance_id: uuid.UUID
    flow_name: str
    integration_name: str


class StateError(StepError):
    """A state call the rules refuse (a limit, a value that is not JSON). Its message is
    the step's error, as written."""


class WriteKind(Enum):
    SET = "set"
    DELETE = "delete"
    INCREMENT = "increment"


@dataclass(frozen=True)
class PendingWrite:
    """What the commit does to one key: ``value`` is the value to set, or the amount to
    add for an increment."""

    kind: WriteKind
    value: Any = None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def state_value_check(*, scope: str, key: str, value: Any, max_bytes: int) -> Any:
    """``value`` as it will be stored (JSON round-tripped: a tuple becomes a list, a copy
    the caller cannot change afterwards), or StateError naming the key and why not."""

    def refuse(item: Any) -> Any:
        if isinstance(item, bytes | bytearray | memoryview):
            raise StateError(
                f"State value for key {key!r} in scope '{scope}' is bytes; state holds JSON "
                "only (text, numbers, booleans, null, lists, objects): store text, e.g. base64"
            )
        raise StateError(
            f"State value for key {key!r} in scope '{scope}' holds {type(item).__name__}, "
            "which is not JSON"
        )

    try:
        text = json.dumps(
            value, default=refuse, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        )
    except ValueError as problem:  # NaN or infinity, or a circular value
        raise StateError(
            f"State value for key {key!r} in scope '{scope}' is not JSON: {problem}"
        ) from problem
    except TypeError as problem:  # an object key that is not text, a number or a boolean
        raise StateError(
            f"State value for key {key!r} in scope '{scope}' is not JSON: {problem}"
        ) from problem
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise StateError(
            f"State value for key {key!r} in scope '{scope}' is {size} bytes of JSON, over "
            f"the limit of {max_bytes} bytes (TRIGGERFISH_STATE_MAX_VALUE_BYTES)"
        )
    return json.loads(text)


def state_key_check(*, scope: str, key: Any) -> str:
    if not isinstance(key, str) or not key:
        raise StateError(f"A state key in scope '{scope}' must be non-empty text, got {key!r}")
    if len(key) > STATE_KEY_MAX_LENGTH:
        raise StateError(
            f"State key {key[:40]!r}… in scope '{scope}' is longer than "
            f"{STATE_KEY_MAX_LENGTH} characters"
        )
    return key


def state_key_count_check(*, scope: str, key: str, count: int) -> None:
    if count > STATE_MAX_KEYS_PER_SCOPE:
        raise StateError(
            f"State key {key!r} would make scope '{scope}' hold {count} keys, over the limit "
            f"of {STATE_MAX_KEYS_PER_SCOPE} keys per scope"
        )


class StateBuffer:
    """One run's state: the snapshot (loaded once by ``loader``) and its pending writes."""

    def __init__(
        self, *, owner: StateOwner, loader: Callable[[], Snapshot], max_value_bytes: int
    ) -> None:
        self.owner = owner
        self._loader = loader
        self._snapshot: Snapshot | None = None
        self.max_value_bytes = max_value_bytes
        self.writes: dict[str, dict[str, PendingWrite]] = {name: {} for name in STATE_SCOPES}

    def snapshot(self) -> Snapshot:
        """The three scopes as the run first read them (the buffer's own: do not change)."""
        if self._snapshot is None:
            loaded = self._loader()
            self._snapshot = {name: dict(loaded.get(name, {})) for name in STATE_SCOPES}
        return self._snapshot

    def snapshot_copy(self) -> Snapshot:
        """What ``{{ state.… }}`` references read: the snapshot, copied, so an action that
        changes a value it was given cannot change what later reads see."""
        return copy.deepcopy(self.snapshot())

    @property
    def has_writes(self) -> bool:
        return any(self.writes.values())

    def access(self) -> StateAccess:
        """``context.state`` for the run's actions and triggers."""
        return StateAccess(
            flow=ScopeBuffer(self, "flow"),
            instance=ScopeBuffer(self, "instance"),
            integration=ScopeBuffer(self, "integration"),
        )

    def _current(self, scope: str, key: str) -> tuple[bool, Any]:
        """(present, value) as this run sees the key: its own write, else the snapshot."""
        snapshot = self.snapshot()[scope]
        pending = self.writes[scope].get(key)
        if pending is None:
            return (key in snapshot, snapshot.get(key))
        if pending.kind is WriteKind.DELETE:
            return (False, None)
        if pending.kind is WriteKind.SET:
            return (True, pending.value)
        return (True, snapshot.get(key, 0) + pending.value)

    def _count_if_added(self, scope: str, key: str) -> None:
        """Refuse a new key that would take the scope past its limit, as the run sees it."""
        if self._current(scope, key)[0]:
            return
        snapshot = self.snapshot()[scope]
        writes = self.writes[scope]
        deleted = {k for k, write in writes.items() if write.kind is WriteKind.DELETE}
        present = (set(snapshot) - deleted) | (set(writes) - deleted)
        state_key_count_check(scope=scope, key=key, count=len(present) + 1)

    def get(self, scope: str, key: str, default: Any = None) -> Any:
        present, value = self._current(scope, state_key_check(scope=scope, key=key))
        return copy.deepcopy(value) if present else default

    def set(self, scope: str, key: str, value: Any) -> Any:
        key = state_key_check(scope=scope, key=key)
        stored = state_value_check(
            scope=scope, key=key, value=value, max_bytes=self.max_value_bytes
        )
        self._count_if_added(scope, key)
        self.writes[scope][key] = PendingWrite(WriteKind.SET, stored)
        return copy.deepcopy(stored)

    def delete(self, scope: str, key: str) -> None:
        key = state_key_check(scope=scope, key=key)
        self.writes[scope][key] = PendingWrite(WriteKind.DELETE)

    def increment(self, scope: str, key: str, by: Any = 1) -> int | float:
        key = state_key_check(scope=scope, key=key)
        if not _is_number(by):
            raise StateError(f"Incrementing state key {key!r} needs a number, got {by!r}")
        present, current = self._current(scope, key)
        if present and not _is_number(current):
            raise StateError(
                f"State key {key!r} in scope '{scope}' holds {value_kind_describe(current)}, not a "
                "number: it cannot be incremented"
            )
        new_value = (current if present else 0) + by
        state_value_check(scope=scope, key=key, value=new_value, max_bytes=self.max_value_bytes)
        self._count_if_added(scope, key)
        pending = self.writes[scope].get(key)
        if pending is None or pending.kind is WriteKind.INCREMENT:
            # Kept as an amount: the commit adds it to whatever the row holds by then.
            amount = by + (pending.value if pending is not None else 0)
            self.writes[scope][key] = PendingWrite(WriteKind.INCREMENT, amount)
        else:
            self.writes[scope][key] = PendingWrite(WriteKind.SET, new_value)
        return new_value


class ScopeBuffer:
    """One scope of a ``StateBuffer``: what ``context.state.flow`` (and the others) is."""

    def __init__(self, buffer: StateBuffer, scope: str) -> None:
        self._buffer = buffer
        self._scope = scope

    def get(self, key: str, default: Any = None) -> Any:
        return self._buffer.get(self._scope, key, default)

    def set(self, key: str, value: Any) -> Any:
        return self._buffer.set(self._scope, key, value)

    def delete(self, key: str) -> None:
        self._buffer.delete(self._scope, key)

    def increment(self, key: str, by: int | float = 1) -> int | float:
        return self._buffer.increment(self._scope, key, by)
