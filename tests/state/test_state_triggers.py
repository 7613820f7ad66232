"""A component trigger's ``context.state``: its writes are saved with the execution the
request stores, in one transaction, and not when the request stores none."""

from __future__ import annotations

from typing import Any

import pytest

from executions.models import Execution
from executions.runner import execution_run
from executions.services import execution_create
from instances.models import Endpoint
from integrations.components.registry import Component, Input
from integrations.components.triggers import TriggerRejected, TriggerResponse, TriggerResult
from integrations.models import Flow, Step
from state.buffer import STATE_MAX_KEYS_PER_SCOPE
from state.models import StateEntry, StateScope
from tests.state.conftest import stored

pytestmark = pytest.mark.django_db

inbound_state = Component("state_trigger_testing")


@inbound_state.trigger("inbound", inputs=[Input("mode", "string", default="count")])
def inbound(context, payload: dict[str, Any], params: dict[str, Any]):
    state = context.state
    state.instance.increment("deliveries")
    state.flow.set("last", payload["body"]["data"])
    mode = params["mode"]
    if mode == "reject":
        raise TriggerRejected("Not for us.", status=403)
    if mode == "handshake":
        return TriggerResult(payload=payload, response=TriggerResponse(body="ok"), run=False)
    if mode == "bytes":
        state.flow.set("raw", payload["rawBody"]["data"])
    if mode == "race":
        # Another run of the instance saves its state while this request is in its trigger.
        execution_run(execution_id=payload["body"]["data"]["other"])
    return {**payload, "seen": state.instance.get("deliveries")}


def deploy(make_integration, make_instance, mode: str = "count"):
    integration = make_integration(
        {
            "name": "Stateful trigger",
            "flows": [
                {
                    "name": "In",
                    "trigger": {"type": "state_trigger_testing.inbound", "inputs": {"mode": mode}},
                    "steps": [
                        {
                            "name": "Seen",
                            "action": "flow.return",
                            "inputs": {"data": "{{ state.instance.deliveries }}"},
                        }
                    ],
                }
            ],
        }
    )
    instance = make_instance(integration)
    return instance, f"/trigger/{Endpoint.objects.get(instance=instance).token}"


def post(client, url: str, data: Any, **headers: str):
    return client.post(url, data=data, content_type="application/json", headers=headers)


def test_trigger_writes_are_saved_with_the_accepted_execution(
    client, make_integration, make_instance
):
    instance, url = deploy(make_integration, make_instance)
    first = post(client, url, {"n": 1})
    assert first.status_code == 200
    assert post(client, url, {"n": 2}).status_code == 200
    assert stored(instance, "In") == {
        "flow": {"last": {"n": 2}},
        "instance": {"deliveries": 2},
        "integration": {},
    }
    execution = Execution.objects.get(pk=first.json()["executionId"])
    assert execution.trigger_payload["seen"] == 1  # the trigger saw its own write
    execution_run(execution_id=str(execution.pk))
    execution.refresh_from_db()
    # The run started after both requests were stored: its snapshot holds both.
    assert execution.steps.get().result == {"data": 2}


def test_a_repeated_idempotency_key_saves_the_trigger_writes_once(
    client, make_integration, make_instance
):
    instance, url = deploy(make_integration, make_instance)
    for _ in range(3):
        assert post(client, url, {"n": 1}, **{"Idempotency-Key": "order-7"}).status_code == 200
    assert stored(instance, "In")["instance"] == {"deliveries": 1}


@pytest.mark.parametrize("mode", ["reject", "handshake"])
def test_a_request_that_stores_no_run_saves_no_trigger_state(
    client, make_integration, make_instance, mode
):
    instance, url = deploy(make_integration, make_instance, mode)
    response = post(client, url, {"n": 1})
    assert response.status_code == (403 if mode == "reject" else 200)
    assert stored(instance, "In") == {"flow": {}, "instance": {}, "integration": {}}


def test_bytes_from_a_trigger_refuse_the_request_and_save_nothing(
    client, make_integration, make_instance
):
    instance, url = deploy(make_integration, make_instance, "bytes")
    response = post(client, url, {"n": 1})
    assert response.status_code == 400
    assert "key 'raw' in scope 'flow' is bytes" in response.json()["error"]
    refused = Execution.objects.get(instance=instance)
    assert refused.status == "failed" and "is bytes" in refused.error
    assert stored(instance, "In")["instance"] == {}


def test_trigger_writes_that_no_longer_fit_store_nothing_and_answer_409(
    client, make_integration, make_instance
):
    instance, url = deploy(make_integration, make_instance, "race")
    StateEntry.objects.bulk_create(
        StateEntry(scope=StateScope.INSTANCE, instance=instance, key=f"k{n}", value=n)
        for n in range(STATE_MAX_KEYS_PER_SCOPE - 1)
    )
    other_flow = Flow.objects.create(integration=instance.integration, name="Other")
    Step.objects.create(
        flow=other_flow,
        position=0,
        name="Fill",
        action="state.set",
        inputs={"scope": "instance", "key": "the 1000th", "value": 1},
    )
    other = execution_create(
        instance=instance, flow=other_flow, trigger_kind="manual", payload={}, enqueue=False
    )
    response = post(client, url, {"other": str(other.pk)})
    assert response.status_code == 409
    assert response.json() == {
        "error": "State key 'deliveries' would make scope 'instance' hold 1001 keys, over "
        "the limit of 1000 keys per scope"
    }
    other.refresh_from_db()
    assert other.status == "succeeded"
    assert not Execution.objects.filter(instance=instance, flow__name="In").exists()
    state = stored(instance, "In")
    assert "deliveries" not in state["instance"] and state["flow"] == {}
