"""state.editing against runs: a staff patch and a run's commit on different keys both
keep theirs; on one key the later wins; an increment after a patch adds to the patched
value. The patch writes only the keys it names."""

from __future__ import annotations

import pytest
from django.db import transaction

from state.buffer import StateOwner
from state.editing import state_instance_patch_apply, state_instance_read
from state.services import state_buffer_commit, state_buffer_open

pytestmark = pytest.mark.django_db


@pytest.fixture
def instance(make_integration, make_instance):
    return make_instance(make_integration())


def _buffer(instance):
    owner = StateOwner(
        instance_id=instance.pk, flow_name="Echo", integration_name=instance.integration.name
    )
    return state_buffer_open(owner=owner)


def _commit(buffer) -> None:
    with transaction.atomic():
        state_buffer_commit(buffer=buffer)


def test_a_patch_and_a_run_on_different_keys_both_keep_theirs(instance):
    state_instance_patch_apply(instance=instance, patch={"flows": {"Echo": {"cursor": 1}}})
    run = _buffer(instance)
    assert run.get("flow", "cursor") == 1  # the run's snapshot is taken
    state_instance_patch_apply(instance=instance, patch={"flows": {"Echo": {"token": "t"}}})
    run.set("flow", "cursor", 2)
    _commit(run)
    assert state_instance_read(instance=instance)["flows"]["Echo"] == {"cursor": 2, "token": "t"}


def test_on_one_key_the_later_write_wins_and_increments_add_to_a_patch(instance):
    run = _buffer(instance)
    run.increment("flow", "count", 5)
    state_instance_patch_apply(instance=instance, patch={"flows": {"Echo": {"count": 100}}})
    _commit(run)
    assert state_instance_read(instance=instance)["flows"]["Echo"] == {"count": 105}
    later = _buffer(instance)
    later.set("flow", "count", 1)
    _commit(later)
    state_instance_patch_apply(instance=instance, patch={"flows": {"Echo": {"count": 7}}})
    assert state_instance_read(instance=instance)["flows"]["Echo"] == {"count": 7}


def test_a_patch_nested_merge_reads_the_value_a_run_committed(instance):
    run = _buffer(instance)
    run.set("instance", "settings", {"a": 1, "b": 2})
    _commit(run)
    state_instance_patch_apply(instance=instance, patch={"instance": {"settings": {"b": None}}})
    assert state_instance_read(instance=instance)["instance"] == {"settings": {"a": 1}}


def test_state_of_a_flow_no_longer_in_the_integration_is_listed_and_can_be_cleared(instance):
    run = _buffer(instance)
    run.set("flow", "x", 1)
    _commit(run)
    instance.state_entries.update(flow_name="Old name")
    state = state_instance_read(instance=instance)
    assert state["flows"] == {"Echo": {}, "Old name": {"x": 1}}
    state_instance_patch_apply(instance=instance, patch={"flows": {"Old name": {"x": None}}})
    assert state_instance_read(instance=instance)["flows"] == {"Echo": {}}
