"""Reading and editing persisted state by staff (SPEC §7's API, the admin, the wizard).

A patch is a JSON merge patch (RFC 7396, ``state.merge_patch``) of a scope's object, so
its members are state keys (a scope patched with ``null`` itself is cleared): ``null``
deletes the key, an object merges into the value the
key holds (when that is an object; else it replaces it), anything else replaces the
value. Only the keys a patch names are read and written, under a lock, in one
transaction: a run that commits other keys meanwhile keeps them, as two runs do
(``state.services``). The runner's limits hold: a value's JSON size and 1,000 keys per
scope, refused naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from instances.models import Instance
from state.buffer import (
    STATE_MAX_KEYS_PER_SCOPE,
    StateError,
    state_key_check,
    state_key_count_check,
    state_value_check,
)
from state.merge_patch import merge_patch_apply
from state.models import StateEntry, StateScope
from state.services import state_scope_lock

# The two parts of an instance's state, as the API and a patch name them.
INSTANCE_STATE_PARTS = ("instance", "flows")


class StatePatchError(Exception):
    """A patch refused as a whole: ``fields`` maps each path at fault (``instance.<key>``,
    ``flows.<flow>.<key>``, a bare key for the integration scope) to why."""

    def __init__(self, summary: str, fields: dict[str, str]) -> None:
        super().__init__(summary)
        self.summary = summary
        self.fields = fields


@dataclass(frozen=True)
class _Scope:
    """One scope being edited: its rows, the owner columns of a new row, and the path
    its keys are named by in errors."""

    rows: Q
    owner_fields: dict[str, Any]
    path: str

    def key_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key


def _instance_scope(instance: Instance) -> _Scope:
    scope = StateScope.INSTANCE
    return _Scope(
        Q(scope=scope, instance_id=instance.pk),
        {"scope": scope, "instance_id": instance.pk},
        "instance",
    )


def _flow_scope(instance: Instance, flow_name: str) -> _Scope:
    scope = StateScope.FLOW
    return _Scope(
        Q(scope=scope, instance_id=instance.pk, flow_name=flow_name),
        {"scope": scope, "instance_id": instance.pk, "flow_name": flow_name},
        f"flows.{flow_name}",
    )


def _integration_scope(integration_name: str) -> _Scope:
    scope = StateScope.INTEGRATION
    return _Scope(
        Q(scope=scope, integration_name=integration_name),
        {"scope": scope, "integration_name": integration_name},
        "",
    )


def state_entries_of_instance(*, instance: Instance) -> list[StateEntry]:
    """The instance's flow and instance rows, by flow name and key, in one query."""
    return list(StateEntry.objects.filter(instance=instance).order_by("scope", "flow_name", "key"))


def state_entries_of_integration(*, integration_name: str) -> list[StateEntry]:
    rows = StateEntry.objects.filter(_integration_scope(integration_name).rows)
    return list(rows.order_by("key"))


def state_instance_flow_names(*, instance: Instance) -> list[str]:
    """The flows an instance's state may be kept for: its integration version's flows, and
    any other name that has state (a flow renamed or removed since: its state stays, so
    staff can read and clear it)."""
    names = set(instance.integration.flows.values_list("name", flat=True))
    names |= set(
        StateEntry.objects.filter(scope=StateScope.FLOW, instance=instance)
        .values_list("flow_name", flat=True)
        .distinct()
    )
    return sorted(names)


def state_instance_read(*, instance: Instance) -> dict[str, Any]:
    """``{"instance": {...}, "flows": {"<flow>": {...}}}``: every flow of the instance's
    integration (``{}`` when it has no state) and every other flow name with state."""
    flows: dict[str, dict[str, Any]] = {
        name: {} for name in instance.integration.flows.values_list("name", flat=True)
    }
    own: dict[str, Any] = {}
    for entry in state_entries_of_instance(instance=instance):
        if entry.scope == StateScope.FLOW:
            flows.setdefault(entry.flow_name, {})[entry.key] = entry.value
        else:
            own[entry.key] = entry.value
    return {"instance": own, "flows": dict(sorted(flows.items()))}


def state_integration_read(*, integration_name: str) -> dict[str, Any]:
    entries = state_entries_of_integration(integration_name=integration_name)
    return {entry.key: entry.value for entry in entries}


def state_instance_patch_apply(*, instance: Instance, patch: Any) -> dict[str, Any]:
    """Apply ``{"instance": {...}?, "flows": {"<flow>": {...}}?}`` and answer the whole
    state after it. Raises StatePatchError, and writes nothing, when any part is refused."""
    if not isinstance(patch, dict):
        raise StatePatchError("The patch must be a JSON object.", {})
    fields = {
        name: "Not a part of an instance's state: give 'instance' or 'flows'."
        for name in patch
        if name not in INSTANCE_STATE_PARTS
    }
    scoped: list[tuple[_Scope, Any]] = []
    if "instance" in patch:
        scoped.append((_instance_scope(instance), patch["instance"]))
    flows = patch.get("flows")
    known = set(state_instance_flow_names(instance=instance)) if "flows" in patch else set()
    if flows is None and "flows" in patch:
        flows = dict.fromkeys(known)  # RFC 7396: null removes the member, every flow's state
    if isinstance(flows, dict):
        for flow_name, flow_patch in flows.items():
            if flow_name in known:
                scoped.append((_flow_scope(instance, flow_name), flow_patch))
            else:
                fields[f"flows.{flow_name}"] = "No such flow in the instance's integration."
    elif flows is not None:
        fields["flows"] = "Must be an object of flow names, each with a patch of its state."
    _apply(scoped, fields)
    return state_instance_read(instance=instance)


def state_integration_patch_apply(*, integration_name: str, patch: Any) -> dict[str, Any]:
    """Apply a merge patch to the integration scope of this name; its object after."""
    if not isinstance(patch, dict):
        # Not RFC 7396's "null clears it all": a body of null is more likely a mistake.
        raise StatePatchError("The patch must be a JSON object of keys.", {})
    _apply([(_integration_scope(integration_name), patch)], {})
    return state_integration_read(integration_name=integration_name)


@dataclass
class _Plan:
    scope: _Scope
    values: dict[str, Any]  # the new value of each key set
    deleted: list[str]
    existing: dict[str, StateEntry]


def _apply(scoped: list[tuple[_Scope, Any]], fields: dict[str, str]) -> None:
    for scope, scope_patch in scoped:
        if scope_patch is None:
            continue  # null: the whole scope is cleared
        if not isinstance(scope_patch, dict):
            fields[scope.path or "body"] = "Must be a JSON object (a merge patch of the scope)."
        elif len(scope_patch) > STATE_MAX_KEYS_PER_SCOPE:
            fields[scope.path or "body"] = (
                f"A patch names at most {STATE_MAX_KEYS_PER_SCOPE} keys of a scope."
            )
        else:
            for key in scope_patch:
                try:
                    state_key_check(scope=_scope_name(scope), key=key)
                except StateError as error:
                    fields[scope.key_path(key)] = str(error)
    if fields:
        raise StatePatchError("Invalid state patch.", fields)
    with transaction.atomic():
        plans = [_plan(scope, scope_patch, fields) for scope, scope_patch in scoped]
        if fields:
            raise StatePatchError("Invalid state patch.", fields)
        now = timezone.now()
        for plan in plans:
            _write(plan, now)


def _scope_name(scope: _Scope) -> str:
    return str(scope.owner_fields["scope"])


def _plan(scope: _Scope, patch: dict[str, Any] | None, fields: dict[str, str]) -> _Plan:
    """What the patch does to each key it names, from the rows as they are now (locked
    until the transaction ends), with the limits checked; a ``None`` patch deletes all."""
    name = _scope_name(scope)
    state_scope_lock(scope.owner_fields)
    if patch is None:
        everything = {entry.key: entry for entry in _scope_rows_locked(scope)}
        return _Plan(scope, {}, list(everything), everything)
    rows = StateEntry.objects.filter(scope.rows, key__in=list(patch)).select_for_update()
    existing = {entry.key: entry for entry in rows}
    values: dict[str, Any] = {}
    deleted: list[str] = []
    for key, value in patch.items():
        if value is None:
            if key in existing:
                deleted.append(key)
            continue
        current = existing[key].value if key in existing else None
        try:
            values[key] = state_value_check(
                scope=name,
                key=key,
                value=merge_patch_apply(current, value),
                max_bytes=settings.TRIGGERFISH_STATE_MAX_VALUE_BYTES,
            )
        except StateError as error:
            fields[scope.key_path(key)] = str(error)
    added = sorted(key for key in values if key not in existing)
    if added:
        count = StateEntry.objects.filter(scope.rows).count() - len(deleted)
        room = STATE_MAX_KEYS_PER_SCOPE - count
        if len(added) > room:
            first_over = added[max(room, 0)]
            try:
                state_key_count_check(scope=name, key=first_over, count=count + max(room, 0) + 1)
            except StateError as error:
                fields[scope.key_path(first_over)] = str(error)
    return _Plan(scope, values, deleted, existing)


def _scope_rows_locked(scope: _Scope) -> Any:
    return StateEntry.objects.filter(scope.rows).select_for_update()


def _write(plan: _Plan, now: Any) -> None:
    if plan.deleted:
        StateEntry.objects.filter(plan.scope.rows, key__in=plan.deleted).delete()
    changed = [plan.existing[key] for key in plan.values if key in plan.existing]
    for entry in changed:
        entry.value = plan.values[entry.key]
        entry.updated_at = now
    StateEntry.objects.bulk_update(changed, ["value", "updated_at"])
    added = [
        StateEntry(**plan.scope.owner_fields, key=key, value=value, updated_at=now)
        for key, value in plan.values.items()
        if key not in plan.existing
    ]
    if not added:
        return
    try:
        # A savepoint: a run that inserted one of these keys since the plan read them must
        # not abort the transaction; this write is the later one, so its value wins.
        with transaction.atomic():
            StateEntry.objects.bulk_create(added)
    except IntegrityError:
        for entry in added:
            rows = StateEntry.objects.filter(plan.scope.rows, key=entry.key)
            if not rows.update(value=entry.value, updated_at=now):
                StateEntry.objects.create(
                    **plan.scope.owner_fields, key=entry.key, value=entry.value
                )
