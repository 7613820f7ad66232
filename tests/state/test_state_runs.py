"""A run's state: what it reads, and that only a succeeded run saves it (SPEC §7)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from executions.models import Execution, ExecutionStatus
from executions.queues import execution_cancel
from executions.recovery import executions_fail_lost
from executions.runner import execution_run
from integrations.components.context import ActionContext
from integrations.components.registry import Component, Input
from tests.state.conftest import World, get_step, increment_step, last_result, set_step, stored

testing = Component("state_testing")


@testing.action("counter", inputs=[Input("scope", "string", required=True)])
def counter(context: ActionContext, *, scope: str) -> dict:
    """A custom action using ``context.state`` the way a component would."""
    state = getattr(context.state, scope)
    before = state.get("count", 0)
    after = state.increment("count")
    state.set("seen", [*state.get("seen", []), context.execution_id])
    state.delete("scratch")
    return {"before": before, "after": after, "seen": len(state.get("seen"))}


@testing.action("canceled_meanwhile")
def canceled_meanwhile(context: ActionContext) -> None:
    # What a cancel landing while the run is in its steps leaves: the row is no longer
    # running, so the runner's final update does not match it.
    Execution.objects.filter(pk=context.execution_id).update(status=ExecutionStatus.CANCELED)


@testing.action("lost_meanwhile")
def lost_meanwhile(context: ActionContext) -> None:
    # The recovery sweep, seen from an hour ahead, takes this run for one whose worker died.
    assert executions_fail_lost(now=timezone.now() + timedelta(hours=2)) >= 1


def test_references_read_the_snapshot_and_state_get_sees_the_runs_own_writes(world: World):
    integration = world.integration(
        {
            "Flow": [
                get_step("flow", "cursor", name="Before", default="none yet"),
                set_step("flow", "cursor", "{{ trigger.body.data }}"),
                ("Ref", "flow.return", {"data": "{{ state.flow }}"}),
                get_step("flow", "cursor", name="After"),
            ]
        }
    )
    instance = world.instance(integration)
    first = world.run(instance, "Flow", payload="page-1")
    assert first.status == "succeeded", first.error
    results = [step.result for step in first.steps.order_by("position")]
    assert results == ["none yet", "page-1", {"data": {}}, "page-1"]
    second = world.run(instance, "Flow", payload="page-2")
    results = [step.result for step in second.steps.order_by("position")]
    assert results == ["page-1", "page-2", {"data": {"cursor": "page-1"}}, "page-2"]
    assert stored(instance, "Flow")["flow"] == {"cursor": "page-2"}


def test_a_reference_to_a_missing_key_is_that_steps_error_and_saves_nothing(world: World):
    integration = world.integration(
        {
            "Flow": [
                set_step("flow", "cursor", "page-1"),
                ("Ref", "flow.return", {"data": "{{ state.flow.cursor }}"}),
            ],
            "Typo": [("Ref", "flow.return", {"data": "{{ state.flows.cursor }}"})],
        }
    )
    instance = world.instance(integration)
    execution = world.run(instance, "Flow")
    assert execution.status == "failed"  # the reference reads the state at run start
    assert execution.error == "Reference 'state.flow.cursor' not found: no key 'cursor'"
    failed_step = execution.steps.get(name="Ref")
    assert (failed_step.status, failed_step.error) == ("failed", execution.error)
    assert stored(instance, "Flow")["flow"] == {}
    typo = world.run(instance, "Typo")
    assert typo.error == "Reference 'state.flows.cursor' not found: no key 'flows'"


def test_a_failed_run_saves_nothing(world: World):
    integration = world.integration(
        {
            "Flow": [
                set_step("flow", "a", 1),
                increment_step("instance", "n"),
                ("Fail", "flow.fail", {"message": "upstream said no"}),
            ]
        }
    )
    instance = world.instance(integration)
    execution = world.run(instance, "Flow")
    assert (execution.status, execution.error) == ("failed", "upstream said no")
    assert stored(instance, "Flow") == {"flow": {}, "instance": {}, "integration": {}}


def test_a_run_canceled_while_running_saves_nothing(world: World):
    integration = world.integration(
        {
            "Flow": [
                set_step("flow", "a", 1),
                ("Cancel", "state_testing.canceled_meanwhile", {}),
            ]
        }
    )
    instance = world.instance(integration)
    execution = world.run(instance, "Flow")
    assert execution.status == "canceled"
    assert stored(instance, "Flow")["flow"] == {}


def test_a_canceled_queued_run_never_runs_and_saves_nothing(world: World):
    integration = world.integration({"Flow": [set_step("flow", "a", 1)]})
    instance = world.instance(integration)
    execution = world.queue(instance, "Flow")
    assert execution_cancel(execution_id=execution.id)
    execution_run(execution_id=str(execution.id))
    execution.refresh_from_db()
    assert execution.status == "canceled"
    assert stored(instance, "Flow")["flow"] == {}


def test_a_run_failed_as_lost_by_the_recovery_sweep_saves_nothing(world: World):
    integration = world.integration(
        {"Flow": [set_step("flow", "a", 1), ("Lose", "state_testing.lost_meanwhile", {})]}
    )
    instance = world.instance(integration)
    execution = world.run(instance, "Flow")
    assert execution.status == "failed"
    assert execution.error.startswith("Worker lost while running")
    assert stored(instance, "Flow")["flow"] == {}


def test_two_runs_writing_different_keys_both_keep_theirs(world: World):
    integration = world.integration(
        {
            "A": [set_step("instance", "a", "from A"), set_step("instance", "same", "A", "S")],
            "B": [set_step("instance", "b", "from B"), set_step("instance", "same", "B", "S")],
        }
    )
    instance = world.instance(integration)
    # Both read their snapshot before either commits: per-key writes, not a whole object.
    first, second = world.queue(instance, "A"), world.queue(instance, "B")
    execution_run(execution_id=str(first.id))
    execution_run(execution_id=str(second.id))
    assert stored(instance, "A")["instance"] == {"a": "from A", "b": "from B", "same": "B"}


def test_custom_actions_use_context_state(world: World):
    integration = world.integration(
        {
            "Seed": [set_step("instance", "scratch", "temporary")],
            "Count": [("Count", "state_testing.counter", {"scope": "instance"})],
        }
    )
    instance = world.instance(integration)
    world.run(instance, "Seed")
    first = world.run(instance, "Count")
    assert last_result(first) == {"before": 0, "after": 1, "seen": 1}
    second = world.run(instance, "Count")
    assert last_result(second) == {"before": 1, "after": 2, "seen": 2}
    assert stored(instance, "Count")["instance"] == {
        "count": 2,
        "seen": [str(first.id), str(second.id)],
    }


def test_state_get_of_a_missing_key_is_an_error_naming_it_unless_a_default_is_given(
    world: World,
):
    integration = world.integration(
        {
            "Missing": [get_step("integration", "token")],
            "Default": [get_step("integration", "token", default={"none": True})],
            "Bad": [get_step("everywhere", "token")],
        }
    )
    instance = world.instance(integration)
    missing = world.run(instance, "Missing")
    assert missing.error == "State key 'token' not found in scope 'integration' (give a default)"
    assert last_result(world.run(instance, "Default")) == {"none": True}
    bad = world.run(instance, "Bad")
    assert bad.error == (
        "Unknown state scope 'everywhere' (expected one of flow, instance, integration)"
    )


def test_delete_removes_the_key_and_the_result_is_an_empty_object(world: World):
    integration = world.integration(
        {
            "Seed": [set_step("instance", "k", 1)],
            "Drop": [
                ("Del", "state.delete", {"scope": "instance", "key": "k"}),
                get_step("instance", "k", default="gone"),
            ],
        }
    )
    instance = world.instance(integration)
    world.run(instance, "Seed")
    execution = world.run(instance, "Drop")
    assert [s.result for s in execution.steps.order_by("position")] == [{}, "gone"]
    assert stored(instance, "Drop")["instance"] == {}


def test_a_run_stopped_early_succeeded_and_saves_its_state(world: World):
    integration = world.integration(
        {
            "Flow": [
                set_step("flow", "done", True),
                ("Stop", "flow.stop_execution", {"statusCode": 204}),
                set_step("flow", "never", True, "Never"),
            ]
        }
    )
    instance = world.instance(integration)
    assert world.run(instance, "Flow").status == "succeeded"
    assert stored(instance, "Flow")["flow"] == {"done": True}
