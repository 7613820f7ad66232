"""The limits and the JSON rule (SPEC §7): a step error naming the key and the limit, and
nothing of the run's state saved."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings

from executions.runner import execution_run
from integrations.components.context import ActionContext
from integrations.components.registry import Component, Input
from state.buffer import STATE_MAX_KEYS_PER_SCOPE
from state.models import StateEntry, StateScope
from tests.state.conftest import World, increment_step, set_step, stored

limits_testing = Component("state_limits_testing")


@limits_testing.action("run_other", inputs=[Input("execution", "string", required=True)])
def run_other(context: ActionContext, *, execution: str) -> None:
    """Runs another queued execution to its end while this run is between its steps: a
    concurrent run committing first."""
    execution_run(execution_id=execution)


def keys_fill(instance, count: int) -> None:
    StateEntry.objects.bulk_create(
        StateEntry(scope=StateScope.INSTANCE, instance=instance, key=f"k{n}", value=n)
        for n in range(count)
    )


def test_the_1000th_key_of_a_scope_is_allowed_and_the_1001st_is_not(world: World):
    integration = world.integration(
        {
            "Add": [
                set_step("flow", "before", 1, "Before"),
                set_step("instance", "{{ trigger.body.data }}", 1),
            ],
            "Replace": [set_step("instance", "k0", "new value")],
        }
    )
    instance = world.instance(integration)
    keys_fill(instance, STATE_MAX_KEYS_PER_SCOPE - 1)
    assert world.run(instance, "Add", payload="the 1000th").status == "succeeded"
    refused = world.run(instance, "Add", payload="the 1001st")
    assert refused.status == "failed"
    assert refused.error == (
        "State key 'the 1001st' would make scope 'instance' hold 1001 keys, over the limit "
        "of 1000 keys per scope"
    )
    step = refused.steps.get(name="Set")
    assert (step.status, step.error) == ("failed", refused.error)
    state = stored(instance, "Add")
    assert len(state["instance"]) == 1000 and "the 1001st" not in state["instance"]
    # A full scope still takes new values for the keys it holds.
    assert world.run(instance, "Replace").status == "succeeded"
    assert stored(instance, "Replace")["instance"]["k0"] == "new value"


def test_keys_added_by_a_run_that_committed_first_fail_the_later_commit(world: World):
    integration = world.integration(
        {
            "Slow": [
                set_step("instance", "slow", 1),
                (
                    "Other",
                    "state_limits_testing.run_other",
                    {"execution": "{{ trigger.body.data }}"},
                ),
                set_step("flow", "own", 1, "Own"),
            ],
            "Fast": [set_step("instance", "fast", 1)],
        }
    )
    instance = world.instance(integration)
    keys_fill(instance, STATE_MAX_KEYS_PER_SCOPE - 1)
    fast = world.queue(instance, "Fast")
    slow = world.run(instance, "Slow", payload=str(fast.id))
    fast.refresh_from_db()
    assert fast.status == "succeeded"
    assert slow.status == "failed"
    assert slow.error == (
        "State key 'slow' would make scope 'instance' hold 1001 keys, over the limit of "
        "1000 keys per scope"
    )
    last = slow.steps.get(name="Own")
    assert (last.status, last.error) == ("failed", slow.error)
    assert list(slow.logs.values_list("message", flat=True))[-1].startswith(
        "Execution finished: failed in"
    )
    state = stored(instance, "Slow")
    assert "slow" not in state["instance"] and state["flow"] == {}
    assert len(state["instance"]) == 1000


def test_a_value_over_the_size_limit_fails_its_step_and_saves_nothing(world: World, settings):
    settings.TRIGGERFISH_STATE_MAX_VALUE_BYTES = 16
    integration = world.integration(
        {
            "Flow": [
                set_step("flow", "small", "fits", "Small"),
                increment_step("instance", "n"),
                set_step("flow", "big", "{{ trigger.body.data }}", "Big"),
            ]
        }
    )
    instance = world.instance(integration)
    assert world.run(instance, "Flow", payload="x" * 14).status == "succeeded"  # 16 bytes
    refused = world.run(instance, "Flow", payload="ü" * 8)  # 18 bytes of JSON in UTF-8
    assert refused.status == "failed"
    assert refused.error == (
        "State value for key 'big' in scope 'flow' is 18 bytes of JSON, over the limit of "
        "16 bytes (TRIGGERFISH_STATE_MAX_VALUE_BYTES)"
    )
    assert refused.steps.get(name="Big").status == "failed"
    assert stored(instance, "Flow") == {
        "flow": {"small": "fits", "big": "x" * 14},
        "instance": {"n": 1},
        "integration": {},
    }


def test_the_size_limit_is_a_setting_defaulting_to_one_mebibyte():
    assert django_settings.TRIGGERFISH_STATE_MAX_VALUE_BYTES == 1024 * 1024


def test_bytes_are_refused_with_a_clear_step_error(world: World):
    integration = world.integration(
        {
            "Flow": [
                set_step("flow", "ok", 1, "Ok"),
                set_step("flow", "raw", "{{ trigger.body.data }}"),
            ]
        }
    )
    instance = world.instance(integration)
    refused = world.run(instance, "Flow", payload=b"\x00\xffbinary")
    assert refused.status == "failed"
    assert refused.error == (
        "State value for key 'raw' in scope 'flow' is bytes; state holds JSON only (text, "
        "numbers, booleans, null, lists, objects): store text, e.g. base64"
    )
    assert stored(instance, "Flow")["flow"] == {}


@pytest.mark.parametrize(
    ("by", "seed", "error"),
    [
        ("two", None, "Input 'by' must be number, got str"),
        (
            1,
            "text",
            "State key 'n' in scope 'flow' holds text, not a number: it cannot be incremented",
        ),
    ],
)
def test_increment_needs_numbers(world: World, by, seed, error):
    steps = [increment_step("flow", "n", by)]
    if seed is not None:
        steps.insert(0, set_step("flow", "n", seed))
    instance = world.instance(world.integration({"Flow": steps}))
    execution = world.run(instance, "Flow")
    assert (execution.status, execution.error) == ("failed", error)
