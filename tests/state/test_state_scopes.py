"""Who shares which scope (SPEC §7), through the real runner and the built-in actions."""

from __future__ import annotations

from tests.state.conftest import World, get_step, increment_step, last_result, set_step, stored


def test_flow_state_is_shared_by_the_runs_of_one_instance_and_flow(world: World):
    integration = world.integration(
        {"Sync": [increment_step("flow", "runs")], "Other": [get_step("flow", "runs", default=0)]}
    )
    instance = world.instance(integration)
    first, second = world.run(instance, "Sync"), world.run(instance, "Sync")
    assert (first.status, second.status) == ("succeeded", "succeeded")
    assert last_result(second) == 2
    # Another flow of the same instance has its own flow scope.
    assert last_result(world.run(instance, "Other")) == 0
    # And another instance of the same integration has its own too.
    assert last_result(world.run(world.instance(integration, "Second"), "Sync")) == 1
    assert stored(instance, "Sync")["flow"] == {"runs": 2}


def test_flow_state_is_kept_across_a_redeploy_onto_a_new_version(world: World):
    version_1 = world.integration({"Sync": [set_step("flow", "cursor", "page-7")]})
    instance = world.instance(version_1)
    assert world.run(instance, "Sync").status == "succeeded"
    version_2 = world.integration(
        {"Sync": [("Read", "flow.return", {"data": "{{ state.flow.cursor }}"})]}, version=2
    )
    instance.integration = version_2  # what deploy does: the newest version of the name
    instance.save()
    execution = world.run(instance, "Sync")
    assert execution.status == "succeeded", execution.error
    assert last_result(execution) == {"data": "page-7"}


def test_instance_state_is_shared_by_every_flow_of_the_instance(world: World):
    integration = world.integration(
        {
            "Login": [set_step("instance", "Access Token", "tok-1")],
            "Call": [("Use", "flow.return", {"data": "{{ state.instance['Access Token'] }}"})],
        }
    )
    instance = world.instance(integration)
    other = world.instance(integration, "Other")
    assert world.run(instance, "Login").status == "succeeded"
    assert last_result(world.run(instance, "Call")) == {"data": "tok-1"}
    refused = world.run(other, "Call")  # another instance does not share it
    assert refused.status == "failed"
    assert refused.error == (
        "Reference 'state.instance['Access Token']' not found: no key 'Access Token'"
    )


def test_integration_state_is_shared_across_instances_and_versions(world: World):
    version_1 = world.integration({"Count": [increment_step("integration", "calls", by=5)]})
    version_2 = world.integration(
        {"Count": [increment_step("integration", "calls", by=1)]}, version=2
    )
    assert world.run(world.instance(version_1, "A"), "Count").status == "succeeded"
    execution = world.run(world.instance(version_2, "B"), "Count")
    assert last_result(execution) == 6
    assert stored(world.instance(version_2, "C"), "Count")["integration"] == {"calls": 6}


def test_flow_and_instance_state_go_with_the_instance(world: World):
    integration = world.integration(
        {
            "Save": [
                set_step("flow", "f", 1, name="F"),
                set_step("instance", "i", 2, name="I"),
                set_step("integration", "g", 3, name="G"),
            ]
        }
    )
    instance = world.instance(integration)
    assert world.run(instance, "Save").status == "succeeded"
    assert stored(instance, "Save") == {
        "flow": {"f": 1},
        "instance": {"i": 2},
        "integration": {"g": 3},
    }
    instance.executions.all().delete()
    instance.delete()
    remaining = stored(world.instance(integration, "Next"), "Save")
    assert remaining == {"flow": {}, "instance": {}, "integration": {"g": 3}}


def test_values_of_every_json_type_round_trip(world: World):
    value = {"text": "ü", "n": 1.5, "list": [1, None, True], "nested": {"k": []}}
    integration = world.integration(
        {
            "Save": [
                set_step("instance", "v", value, name="A"),
                set_step("instance", "nothing", None),
            ],
            "Read": [("R", "flow.return", {"data": "{{ state.instance }}"})],
        }
    )
    instance = world.instance(integration)
    assert world.run(instance, "Save").status == "succeeded"
    assert stored(instance, "Save")["instance"] == {"v": value, "nothing": None}
    assert last_result(world.run(instance, "Read")) == {"data": {"v": value, "nothing": None}}
