"""Deploy, redeploy, pause, enable and remove an instance."""

from __future__ import annotations

import re

import pytest

from executions.models import Execution, TriggerKind
from executions.results import execution_final_result
from executions.runner import execution_run
from instances.endpoints import instance_webhook_context
from instances.errors import InstanceStateError
from instances.lifecycle import instance_deploy, instance_enable, instance_pause, instance_remove
from instances.models import ApiKey, Endpoint, Instance
from instances.services import api_key_add
from integrations.definitions import integration_import
from tests.fixtures.domain import definition

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r"^[A-Za-z0-9_-]{22,}$")

TWO_FLOWS_AND_HOOKS = definition(
    name="Lifecycle",
    flows=[
        {
            "name": "Orders",
            "trigger": {"type": "webhook"},
            "steps": [{"name": "R", "action": "flow.return", "inputs": {}}],
        },
        {
            "name": "Refunds",
            "trigger": {"type": "webhook", "endpointSecurity": "customer_required"},
            "steps": [{"name": "R", "action": "flow.return", "inputs": {}}],
        },
        {
            "name": "On Deploy",
            "trigger": {"type": "instance_deploy"},
            "steps": [
                {
                    "name": "Register",
                    "action": "flow.return",
                    "inputs": {"data": "{{ trigger.webhookUrls }}"},
                }
            ],
        },
        {
            "name": "On Remove",
            "trigger": {"type": "instance_remove"},
            "steps": [
                {
                    "name": "Unregister",
                    "action": "flow.return",
                    "inputs": {"data": "{{ trigger.webhookUrls }}"},
                }
            ],
        },
    ],
)


def test_deploy_creates_one_opaque_endpoint_per_webhook_flow(make_integration, make_instance):
    instance = make_instance(make_integration(TWO_FLOWS_AND_HOOKS))
    endpoints = {e.flow_name: e for e in Endpoint.objects.filter(instance=instance)}
    assert set(endpoints) == {"Orders", "Refunds"}
    for endpoint in endpoints.values():
        assert TOKEN.match(endpoint.token)
        assert str(instance.pk) not in endpoint.token


def test_customer_required_flow_gets_a_key_at_deploy(make_integration, make_instance):
    instance = make_instance(make_integration(TWO_FLOWS_AND_HOOKS))
    keys = ApiKey.objects.filter(instance=instance)
    assert [k.flow_name for k in keys] == ["Refunds"]


def test_deploy_runs_deploy_flows_with_the_webhook_urls(make_integration, make_instance):
    instance = make_instance(make_integration(TWO_FLOWS_AND_HOOKS))
    deploy_runs = Execution.objects.filter(
        instance=instance, trigger_kind=TriggerKind.INSTANCE_DEPLOY
    )
    assert deploy_runs.count() == 1
    payload = deploy_runs.get().trigger_payload
    tokens = dict(Endpoint.objects.filter(instance=instance).values_list("flow_name", "token"))
    assert payload["webhookUrls"] == {
        "Orders": f"http://testserver-base/trigger/{tokens['Orders']}",
        "Refunds": f"http://testserver-base/trigger/{tokens['Refunds']}",
    }
    refund_key = ApiKey.objects.get(instance=instance, flow_name="Refunds").key
    assert payload["webhookApiKeys"] == {"Orders": [], "Refunds": [refund_key]}
    assert payload["instance"] == {"id": str(instance.pk), "name": instance.name}


def test_redeploy_keeps_tokens_and_moves_to_the_newest_version(make_integration, make_instance):
    first = make_integration(TWO_FLOWS_AND_HOOKS)
    instance = make_instance(first)
    tokens_before = set(Endpoint.objects.filter(instance=instance).values_list("token", flat=True))
    second = integration_import(definition=TWO_FLOWS_AND_HOOKS)
    assert second.version == first.version + 1

    instance.refresh_from_db()
    assert instance.integration == first  # keeps its version until redeployed
    instance_deploy(instance=instance)
    instance.refresh_from_db()

    assert instance.integration == second
    tokens_after = set(Endpoint.objects.filter(instance=instance).values_list("token", flat=True))
    assert tokens_after == tokens_before


def test_instance_specific_has_one_endpoint(make_integration, make_instance):
    spec = definition(name="Per Instance", endpointType="instance_specific")
    instance = make_instance(make_integration(spec))
    assert list(Endpoint.objects.filter(instance=instance).values_list("flow_name", flat=True)) == [
        ""
    ]


def test_shared_integration_has_one_endpoint_for_all_customers(
    make_integration, make_instance, customer_b
):
    spec = definition(
        name="Shared",
        endpointType="shared_instance",
        routing={"flowNameField": "headers.x-flow", "externalCustomerIdField": "body.data.account"},
    )
    integration = make_integration(spec)
    make_instance(integration)
    make_instance(integration, customer=customer_b)
    shared = Endpoint.objects.filter(integration_name="Shared")
    assert shared.count() == 1
    assert shared.get().instance is None


def test_remove_runs_remove_flows_with_urls_then_takes_everything_down(
    make_integration, make_instance
):
    instance = make_instance(make_integration(TWO_FLOWS_AND_HOOKS))
    urls_before = Execution.objects.get(
        instance=instance, trigger_kind=TriggerKind.INSTANCE_DEPLOY
    ).trigger_payload["webhookUrls"]

    executions = instance_remove(instance=instance)

    assert [e.flow.name for e in executions] == ["On Remove"]
    assert executions[0].trigger_payload["webhookUrls"] == urls_before
    assert not Endpoint.objects.filter(instance=instance).exists()
    assert not ApiKey.objects.filter(instance=instance).exists()
    instance.refresh_from_db()
    assert instance.removed_at is not None
    assert not Instance.objects.live().filter(pk=instance.pk).exists()
    # executions stay for audit
    assert Execution.objects.filter(instance=instance).count() == 2


def test_removed_instance_cannot_be_deployed_again(make_integration, make_instance):
    instance = make_instance(make_integration(TWO_FLOWS_AND_HOOKS))
    instance_remove(instance=instance)
    with pytest.raises(InstanceStateError):
        instance_deploy(instance=instance)


def test_pause_and_enable_toggle_the_instance(make_integration, make_instance):
    instance = make_instance(make_integration())
    instance_pause(instance=instance)
    assert not Instance.objects.running().filter(pk=instance.pk).exists()
    instance_enable(instance=instance)
    assert Instance.objects.running().filter(pk=instance.pk).exists()


def test_api_key_for_unknown_flow_is_refused(make_integration, make_instance):
    instance = make_instance(make_integration())
    with pytest.raises(InstanceStateError):
        api_key_add(instance=instance, flow_name="Nope")


def test_remove_flow_still_sees_the_urls_when_it_runs(make_integration, make_instance):
    instance = make_instance(make_integration(TWO_FLOWS_AND_HOOKS))
    urls = instance_webhook_urls(instance)
    (removal,) = instance_remove(instance=instance)
    execution_run(execution_id=str(removal.pk))  # after the endpoints are gone
    removal.refresh_from_db()
    assert removal.status == "succeeded"
    assert execution_final_result(removal) == {"data": urls}


def instance_webhook_urls(instance) -> dict[str, str]:
    return instance_webhook_context(instance)["webhookUrls"]
