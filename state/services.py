"""Persisted state in the database: a run's snapshot, and its writes committed per key.

``state_buffer_open`` gives a run its ``StateBuffer``; ``state_buffer_commit`` applies the
buffer's writes inside the caller's transaction — the one that records the run's success,
so a run that fails, is canceled or is lost saves nothing. Per key: a set is an upsert
(the later commit wins), a delete removes the row, an increment adds to the row it holds
locked, so concurrent increments all count on SQLite (whose IMMEDIATE transactions take
the write lock at BEGIN) and on PostgreSQL (``SELECT … FOR UPDATE``) alike.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import JSONField, Q, Value
from django.utils import timezone

from state.buffer import (
    PendingWrite,
    Snapshot,
    StateBuffer,
    StateError,
    StateOwner,
    WriteKind,
    state_key_count_check,
)
from state.models import StateEntry, StateScope


def _scope_filter(owner: StateOwner, scope: str) -> Q:
    if scope == StateScope.FLOW:
        return Q(scope=scope, instance_id=owner.instance_id, flow_name=owner.flow_name)
    if scope == StateScope.INSTANCE:
        return Q(scope=scope, instance_id=owner.instance_id)
    return Q(scope=StateScope.INTEGRATION, integration_name=owner.integration_name)


def _scope_fields(owner: StateOwner, scope: str) -> dict[str, Any]:
    """The owner columns of a new row of ``scope``."""
    if scope == StateScope.FLOW:
        return {"scope": scope, "instance_id": owner.instance_id, "flow_name": owner.flow_name}
    if scope == StateScope.INSTANCE:
        return {"scope": scope, "instance_id": owner.instance_id}
    return {"scope": scope, "integration_name": owner.integration_name}


def state_snapshot_load(*, owner: StateOwner) -> Snapshot:
    """The three scopes of ``owner``, ``{"flow": {...}, "instance": {...},
    "integration": {...}}``, in one query."""
    snapshot: Snapshot = {scope.value: {} for scope in StateScope}
    rows = StateEntry.objects.filter(
        _scope_filter(owner, StateScope.FLOW)
        | _scope_filter(owner, StateScope.INSTANCE)
        | _scope_filter(owner, StateScope.INTEGRATION)
    ).values_list("scope", "key", "value")
    for scope, key, value in rows:
        snapshot[scope][key] = value
    return snapshot


def state_buffer_open(*, owner: StateOwner) -> StateBuffer:
    """A run's buffer; its snapshot is read on first use."""
    return StateBuffer(
        owner=owner,
        loader=lambda: state_snapshot_load(owner=owner),
        max_value_bytes=settings.TRIGGERFISH_STATE_MAX_VALUE_BYTES,
    )


def state_buffer_commit(*, buffer: StateBuffer) -> None:
    """Apply the buffer's writes. Must run inside the transaction that records the run's
    success; raises StateError (and the caller's transaction must roll back) when the
    writes no longer fit: runs committed since this one read its snapshot took the scope
    past its key limit, or made a key it increments something other than a number."""
    if not buffer.has_writes:
        return
    if not connection.in_atomic_block:
        raise RuntimeError("state_buffer_commit must run inside the run's final transaction")
    owner = buffer.owner
    now = timezone.now()
    for scope, writes in buffer.writes.items():
        if not writes:
            continue
        kept = [key for key, write in writes.items() if write.kind is not WriteKind.DELETE]
        # The snapshot is loaded by then, unless the run only deleted (which reads nothing).
        added_keys = [key for key in kept if key not in buffer.snapshot()[scope]]
        if added_keys:
            _scope_lock(owner, scope)
        # Scopes in a fixed order and keys sorted: two runs locking rows of the same keys
        # lock them in the same order, so they queue instead of deadlocking.
        for key in sorted(writes):
            _write_apply(owner, scope, key, writes[key], now)
        if added_keys:
            _key_count_check(owner, scope, added_keys)


def _write_apply(owner: StateOwner, scope: str, key: str, write: PendingWrite, now: Any) -> None:
    rows = StateEntry.objects.filter(_scope_filter(owner, scope), key=key)
    if write.kind is WriteKind.DELETE:
        rows.delete()
    elif write.kind is WriteKind.SET:
        value = _json_value(write.value)
        if rows.update(value=value, updated_at=now) or _row_insert(owner, scope, key, value):
            return
        # Another run inserted the key since the update found none: this commit is the
        # later one, so its value wins.
        if not rows.update(value=value, updated_at=now):
            raise RuntimeError(f"State key {key!r} could be neither inserted nor updated")
    else:
        _increment_apply(owner, scope, key, write.value, now)


def _increment_apply(owner: StateOwner, scope: str, key: str, by: int | float, now: Any) -> None:
    rows = StateEntry.objects.filter(_scope_filter(owner, scope), key=key)
    # Locked until the run's transaction ends, so a concurrent increment waits and then
    # reads this one's sum (PostgreSQL; SQLite holds the database's write lock already).
    current = rows.select_for_update().values_list("value", flat=True).first()
    if current is None and not rows.exists():
        if _row_insert(owner, scope, key, by):
            return
        current = rows.select_for_update().values_list("value", flat=True).get()
    if not isinstance(current, int | float) or isinstance(current, bool):
        raise StateError(
            f"State key {key!r} in scope '{scope}' no longer holds a number (another run "
            "changed it since this one read it): it cannot be incremented; no state was saved"
        )
    rows.update(value=current + by, updated_at=now)


def _json_value(value: Any) -> Any:
    """What to write for ``value``: JSON null spelled out, since Django writes a bare None
    as SQL NULL, which the column refuses."""
    return Value(None, JSONField()) if value is None else value


def _row_insert(owner: StateOwner, scope: str, key: str, value: Any) -> bool:
    """Insert the key's row; False when a concurrent commit inserted it first."""
    try:
        # A savepoint: the unique constraint's refusal must not abort the run's transaction.
        with transaction.atomic():
            StateEntry.objects.create(**_scope_fields(owner, scope), key=key, value=value)
    except IntegrityError:
        return False
    return True


def _scope_lock(owner: StateOwner, scope: str) -> None:
    """Serialize the commits that add keys to one scope, so two of them cannot both count
    999 keys and end at 1,001. SQLite needs nothing: its writers already queue at BEGIN."""
    state_scope_lock(_scope_fields(owner, scope))


def state_scope_lock(fields: dict[str, Any]) -> None:
    """``_scope_lock`` by the owner columns of the scope's rows (staff edits take it too)."""
    if connection.vendor != "postgresql":
        return
    name = "\0".join(str(value) for value in fields.values())
    digest = hashlib.blake2b(f"triggerfish-state\0{name}".encode(), digest_size=8).digest()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest, "big", signed=True)]
        )


def _key_count_check(owner: StateOwner, scope: str, added_keys: list[str]) -> None:
    count = StateEntry.objects.filter(_scope_filter(owner, scope)).count()
    state_key_count_check(scope=scope, key=added_keys[-1], count=count)
