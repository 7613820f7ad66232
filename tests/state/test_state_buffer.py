"""The run's buffer on its own: what reads see and what a commit will do."""

from __future__ import annotations

import math
import uuid

import pytest

from integrations.components.context import STATE_SCOPES
from state.buffer import PendingWrite, StateBuffer, StateError, StateOwner, WriteKind
from state.models import StateScope

OWNER = StateOwner(instance_id=uuid.uuid4(), flow_name="Flow", integration_name="Integration")


def buffer(flow: dict | None = None, loads: list | None = None) -> StateBuffer:
    def load() -> dict:
        if loads is not None:
            loads.append(1)
        return {"flow": dict(flow or {}), "instance": {}, "integration": {}}

    return StateBuffer(owner=OWNER, loader=load, max_value_bytes=1024)


def test_the_snapshot_is_loaded_once_and_only_when_used():
    loads: list = []
    state = buffer({"n": 1}, loads)
    assert loads == []
    assert state.get("flow", "n") == 1
    state.set("flow", "m", 2)
    assert state.get("flow", "m") == 2
    assert loads == [1]


def test_increments_are_kept_as_amounts_unless_the_run_set_the_key():
    state = buffer({"n": 5, "m": 1})
    assert state.increment("flow", "n") == 6
    assert state.increment("flow", "n", 2.5) == 8.5
    assert state.writes["flow"]["n"] == PendingWrite(WriteKind.INCREMENT, 3.5)
    state.set("flow", "m", 10)
    assert state.increment("flow", "m") == 11
    assert state.writes["flow"]["m"] == PendingWrite(WriteKind.SET, 11)
    state.delete("flow", "gone")
    assert state.increment("flow", "gone") == 1  # counts from 0 after a delete
    assert state.writes["flow"]["gone"] == PendingWrite(WriteKind.SET, 1)


def test_values_are_stored_as_json_and_reads_are_copies():
    state = buffer()
    assert state.set("flow", "t", (1, 2)) == [1, 2]
    read = state.get("flow", "t")
    read.append(3)
    assert state.get("flow", "t") == [1, 2]
    snapshot = state.snapshot_copy()
    snapshot["flow"]["x"] = 1
    assert state.get("flow", "x") is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (math.nan, "State value for key 'k' in scope 'flow' is not JSON: Out of range float"),
        ({1, 2}, "State value for key 'k' in scope 'flow' holds set, which is not JSON"),
        (bytearray(b"x"), "State value for key 'k' in scope 'flow' is bytes; state holds"),
    ],
)
def test_what_is_not_json_is_refused(value, message):
    with pytest.raises(StateError) as raised:
        buffer().set("flow", "k", value)
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize("key", ["", None, 7, "x" * 256])
def test_keys_are_non_empty_text_of_at_most_255_characters(key):
    with pytest.raises(StateError):
        buffer().set("flow", key, 1)


def test_the_scopes_the_context_names_are_the_scopes_rows_hold():
    # integrations (below state) names them for context.state; the model's choices agree.
    assert tuple(StateScope.values) == STATE_SCOPES


def test_a_run_that_only_deletes_reads_nothing():
    loads: list = []
    state = buffer(loads=loads)
    state.delete("flow", "old")
    assert loads == []
    assert state.writes["flow"] == {"old": PendingWrite(WriteKind.DELETE)}
