"""Query counts: the webhook hot path asks the database only to store, and no list (API or
admin) nor API detail with embedded lists makes a query per row.

Lists and details are measured with one row of everything, then again with several more:
the count must not grow with the rows (django_assert_max_num_queries with the one-row count).
"""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.cache import RoutingCache, routing_cache
from executions.models import Execution, TriggerKind
from executions.services import execution_create
from instances.lifecycle import instance_enable, instance_pause, instance_remove
from instances.models import Endpoint
from instances.services import api_key_add, organization_api_key_add
from tests.api.conftest import _client_for
from tests.fixtures.domain import definition
from triggers.webhooks.activity import recorder

pytestmark = pytest.mark.django_db

BODY = json.dumps({"event": "order.created", "data": {"id": 1}})


def post(client, url: str, **kwargs):
    return client.post(url, data=BODY, content_type="application/json", **kwargs)


@pytest.fixture(autouse=True)
def _activity_written_before_each_measure(monkeypatch):
    # The endpoint activity batch is written every few seconds by whichever request comes
    # then; a measured request must not be the one.
    recorder.flush()
    monkeypatch.setattr("triggers.webhooks.activity.FLUSH_SECONDS", 3600.0)


def sql(captured: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in captured.captured_queries]


@pytest.fixture
def echo(make_integration, make_instance):
    instance = make_instance(make_integration())
    return instance, f"/trigger/{Endpoint.objects.get(instance=instance).token}"


# The webhook hot path ---------------------------------------------------------------------


def test_known_token_async_post_is_one_insert(client, echo):
    _, url = echo
    assert post(client, url).status_code == 200  # first request: the token is resolved
    with CaptureQueriesContext(connection) as captured:
        response = post(client, url)
    assert response.status_code == 200
    queries = sql(captured)
    assert len(queries) == 1, queries
    assert queries[0].startswith('INSERT INTO "executions_execution"')


def test_unknown_token_asks_the_database_once(client, django_assert_max_num_queries):
    url = "/trigger/" + "x" * 32
    assert post(client, url).status_code == 404
    with django_assert_max_num_queries(0):
        assert post(client, url).status_code == 404


def test_keys_and_shared_routing_are_cached_too(
    client, make_integration, make_instance, customer_a, customer_b
):
    spec = definition(
        name="Shared",
        endpointType="shared_instance",
        routing={"flowNameField": "headers.x-flow", "externalCustomerIdField": "body.data.account"},
    )
    spec["flows"][0]["trigger"]["endpointSecurity"] = "customer_required"
    integration = make_integration(spec)
    instance = make_instance(integration, customer=customer_a)
    make_instance(integration, customer=customer_b)
    key = instance.api_keys.get().key
    url = f"/trigger/{Endpoint.objects.get(integration_name='Shared').token}"
    body = json.dumps({"account": "acme"})

    def send():
        return client.post(
            url,
            data=body,
            content_type="application/json",
            headers={"Api-Key": key, "X-Flow": "Echo"},
        )

    assert send().status_code == 200
    with CaptureQueriesContext(connection) as captured:
        assert send().status_code == 200
    assert len(captured) == 1, sql(captured)


def test_organization_keys_are_cached(client, make_integration, make_instance):
    spec = definition()
    spec["flows"][0]["trigger"]["endpointSecurity"] = "organization"
    instance = make_instance(make_integration(spec))
    url = f"/trigger/{Endpoint.objects.get(instance=instance).token}"
    key = organization_api_key_add().key
    assert post(client, url, headers={"Api-Key": key, "X-Flow": "Echo"}).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        assert post(client, url, headers={"Api-Key": key, "X-Flow": "Echo"}).status_code == 200
    assert len(captured) == 1, sql(captured)


# What changes routing takes effect on the next request -------------------------------------


def test_pause_enable_and_remove_take_effect_on_the_next_request(client, echo):
    instance, url = echo
    assert post(client, url).status_code == 200
    instance_pause(instance=instance)
    paused = post(client, url)
    assert paused.status_code == 404
    assert paused.json() == {"error": "Instance is paused."}
    instance_enable(instance=instance)
    assert post(client, url).status_code == 200
    instance_remove(instance=instance)
    assert post(client, url).status_code == 404


def test_a_new_key_is_required_on_the_next_request(client, echo):
    instance, url = echo
    assert post(client, url).status_code == 200  # customer_optional, no key yet
    key = api_key_add(instance=instance, flow_name="Echo").key
    assert post(client, url).status_code == 401
    assert post(client, url, headers={"Api-Key": key, "X-Flow": "Echo"}).status_code == 200


def test_another_process_drops_its_entries_when_a_change_commits(
    echo, django_capture_on_commit_callbacks
):
    """Another web process is another RoutingCache; it sees the shared version move (Redis
    or the stamp file) at its next check, at most CHECK_SECONDS later."""
    instance, _ = echo
    other = RoutingCache()
    loads = []

    def load():
        loads.append(1)
        return "resolved"

    assert other.get("key", load) == other.get("key", load) == "resolved"
    assert len(loads) == 1
    with django_capture_on_commit_callbacks(execute=True):
        instance_pause(instance=instance)
    assert other.get("key", load) == "resolved"  # within CHECK_SECONDS: not read yet
    other._checked_at = float("-inf")  # CHECK_SECONDS later
    other.get("key", load)
    assert len(loads) == 2


def test_a_change_while_loading_is_not_cached():
    cache = RoutingCache()

    def load_during_a_change():
        cache.clear()  # what a concurrent save does
        return "old"

    assert cache.get("key", load_during_a_change) == "old"
    assert cache.get("key", lambda: "new") == "new"


def test_saving_any_routing_row_clears_the_cache(echo, client):
    instance, url = echo
    post(client, url)
    assert len(routing_cache) > 0
    instance.customer.save()
    assert len(routing_cache) == 0


# A run's definition -------------------------------------------------------------------


def _run_logged(**kwargs):
    from executions.runner import execution_run
    from tests.fixtures.executions import execution_make

    execution = execution_make(**kwargs)
    execution_run(execution_id=str(execution.pk))
    execution.refresh_from_db()
    return execution


def test_a_second_run_of_a_flow_reads_only_its_execution_of_the_definition_and_rows():
    from executions.runner import execution_run

    first = _run_logged(
        steps=[("Reply", "flow.return", {"data": "{{ configVars.region }}"})],
        config_variables=[{"key": "region", "default": "eu"}],
    )
    again = execution_create(
        instance=first.instance, flow=first.flow, trigger_kind="manual", payload={}, enqueue=False
    )
    with CaptureQueriesContext(connection) as captured:
        execution_run(execution_id=str(again.pk))
    statements = " ".join(sql(captured))
    for table in (
        "integrations_step",
        "integrations_configvariable",
        "instances_instance",
        "instances_customer",
        "integrations_integration",
    ):
        assert f'"{table}"' not in statements, table
    assert 'FROM "executions_execution"' in statements  # the execution itself is read


def test_an_edited_step_or_config_default_is_what_the_next_run_uses():
    from executions.results import execution_final_result
    from executions.runner import execution_run
    from integrations.models import ConfigVariable

    first = _run_logged(
        steps=[("Reply", "flow.return", {"data": "{{ configVars.region }}"})],
        config_variables=[{"key": "region", "default": "eu"}],
    )
    assert execution_final_result(first) == {"data": "eu"}
    step = first.flow.steps.get()
    step.inputs = {"data": "edited {{ configVars.region }}"}
    step.save()
    variable = ConfigVariable.objects.get(integration=first.integration, key="region")
    variable.default = "us"
    variable.save()
    again = execution_create(
        instance=first.instance, flow=first.flow, trigger_kind="manual", payload={}, enqueue=False
    )
    execution_run(execution_id=str(again.pk))
    assert execution_final_result(again) == {"data": "edited us"}


# Lists: as many queries for N rows as for one --------------------------------------------


def _add_world(make_integration, make_instance, customer, index: int) -> None:
    spec = definition(name=f"Integration {index}")
    spec["flows"].append({**spec["flows"][0], "name": "Second"})
    spec["flows"][0]["trigger"]["endpointSecurity"] = "customer_required"
    integration = make_integration(spec)
    instance = make_instance(integration, customer=customer, name=f"Instance {index}")
    api_key_add(instance=instance, flow_name="Second")
    for flow in integration.flows.all():
        execution = execution_create(
            instance=instance,
            flow=flow,
            trigger_kind=TriggerKind.WEBHOOK,
            payload={"body": {"data": {"n": index}}},
            enqueue=False,
        )
        Execution.objects.filter(pk=execution.pk).update(status="succeeded")


API_LISTS = [
    "/api/v1/integrations/",
    "/api/v1/customers/",
    "/api/v1/instances/",
    "/api/v1/executions/",
]


@pytest.mark.parametrize("persona", ["staff_user", "user_a"])
def test_api_lists_do_not_query_per_row(
    request, persona, make_integration, make_instance, customer_a, django_assert_max_num_queries
):
    from instances.models import Customer

    api = _client_for(request.getfixturevalue(persona))
    _add_world(make_integration, make_instance, customer_a, 0)
    single = {}
    for url in API_LISTS:
        with CaptureQueriesContext(connection) as captured:
            response = api.get(url)
        assert response.status_code == 200, response.content
        assert len(response.json()["results"]) >= 1, url
        single[url] = len(captured)
    for index in range(1, 6):
        customer = Customer.objects.create(name=f"Customer {index}", external_id=f"c{index}")
        _add_world(make_integration, make_instance, customer, index)
        _add_world(make_integration, make_instance, customer_a, 10 + index)
    for url in API_LISTS:
        with django_assert_max_num_queries(single[url]):
            response = api.get(url)
        assert response.status_code == 200
        # A customer's user sees their own customer only; every other list has grown.
        expected = 1 if (url == "/api/v1/customers/" and persona == "user_a") else 2
        assert len(response.json()["results"]) >= expected, url


def test_a_customer_users_membership_comes_with_its_token(request, user_a, customer_a):
    api = _client_for(user_a)
    with CaptureQueriesContext(connection) as captured:
        response = api.get("/api/v1/customers/")
    assert response.status_code == 200
    assert [c["id"] for c in response.json()["results"]] == [str(customer_a.pk)]
    statements = sql(captured)
    assert 'FROM "api_apitoken"' in statements[0]
    assert '"instances_customeruser"' in statements[0]  # joined to the token's query
    assert not [q for q in statements[1:] if 'FROM "instances_customeruser"' in q]
    # Nor the customer through the membership (a get by primary key, LIMIT 21).
    assert not [q for q in statements if 'FROM "instances_customer" WHERE' in q and "LIMIT 21" in q]


ADMIN_MODELS = [
    "integrations/integration",
    "integrations/flow",
    "instances/customer",
    "instances/instance",
    "instances/apikey",
    "executions/execution",
    "triggers/endpoint",
]


def test_admin_changelists_do_not_query_per_row(
    client, staff_user, make_integration, make_instance, customer_a, django_assert_max_num_queries
):
    from instances.models import Customer

    client.force_login(staff_user)
    _add_world(make_integration, make_instance, customer_a, 0)
    single = {}
    for model in ADMIN_MODELS:
        url = f"/admin/{model}/"
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200, url
        single[model] = len(captured)
    for index in range(1, 6):
        customer = Customer.objects.create(name=f"Customer {index}", external_id=f"c{index}")
        _add_world(make_integration, make_instance, customer, index)
    for model in ADMIN_MODELS:
        with django_assert_max_num_queries(single[model]):
            assert client.get(f"/admin/{model}/").status_code == 200


# Details: as many queries for N nested rows as for one -----------------------------------


def _measured(api, url: str) -> tuple[dict, int]:
    with CaptureQueriesContext(connection) as captured:
        response = api.get(url)
    assert response.status_code == 200, response.content
    return response.json(), len(captured)


def _integration_with(make_integration, *, name: str, flows: int, variables: int):
    """``flows`` webhook flows (customer_required, so each gets API keys) and as many
    schedule flows, each of two steps, and ``variables`` config variables."""
    steps = [
        {"name": "Split", "action": "text.split", "inputs": {"text": "a,b", "separator": ","}},
        {"name": "Reply", "action": "flow.return", "inputs": {"data": "{{ steps.Split }}"}},
    ]
    webhooks = [
        {
            "name": f"Hook {index}",
            "trigger": {"type": "webhook", "endpointSecurity": "customer_required"},
            "steps": steps,
        }
        for index in range(flows)
    ]
    schedules = [
        {
            "name": f"Tick {index}",
            "trigger": {
                "type": "schedule",
                "schedule": {"cron": f"{index} * * * *", "timeZone": "Europe/Berlin"},
            },
            "steps": steps,
        }
        for index in range(flows)
    ]
    variables_spec = [
        {"key": f"Var {index}", "type": "string", "default": "x"} for index in range(variables)
    ]
    return make_integration(
        definition(name=name, configVariables=variables_spec, flows=webhooks + schedules)
    )


@pytest.mark.parametrize("persona", ["staff_user", "user_a"])
def test_integration_detail_does_not_query_per_flow_or_variable(
    request, persona, make_integration, make_instance, customer_a, django_assert_max_num_queries
):
    api = _client_for(request.getfixturevalue(persona))
    small = _integration_with(make_integration, name="Small", flows=1, variables=1)
    large = _integration_with(make_integration, name="Large", flows=6, variables=5)
    for integration in (small, large):  # a customer's user sees what its instances run
        make_instance(integration, customer=customer_a, name=integration.name)

    body, single = _measured(api, f"/api/v1/integrations/{small.pk}")
    assert len(body["flows"]) == 2 and len(body["configVariables"]) == 1
    with django_assert_max_num_queries(single):
        response = api.get(f"/api/v1/integrations/{large.pk}")
    assert response.status_code == 200
    body = response.json()
    assert len(body["flows"]) == 12 and len(body["configVariables"]) == 5
    assert all(len(flow["steps"]) == 2 for flow in body["flows"])
    assert len(body["definition"]["flows"]) == 12


@pytest.mark.parametrize("persona", ["staff_user", "user_a"])
def test_instance_detail_does_not_query_per_flow_or_api_key(
    request, persona, make_integration, make_instance, customer_a, django_assert_max_num_queries
):
    api = _client_for(request.getfixturevalue(persona))
    small = make_instance(
        _integration_with(make_integration, name="Small", flows=1, variables=1),
        customer=customer_a,
        name="Small",
    )
    large = make_instance(
        _integration_with(make_integration, name="Large", flows=6, variables=5),
        customer=customer_a,
        name="Large",
    )
    for flow in large.integration.flows.filter(trigger_type="webhook"):
        api_key_add(instance=large, flow_name=flow.name)  # deploy made one; two each

    body, single = _measured(api, f"/api/v1/instances/{small.pk}")
    hooks = [flow for flow in body["flows"] if flow["webhookUrl"]]
    assert len(body["flows"]) == 2 and len(hooks) == 1 and len(hooks[0]["apiKeys"]) == 1
    with django_assert_max_num_queries(single):
        response = api.get(f"/api/v1/instances/{large.pk}")
    assert response.status_code == 200
    flows = response.json()["flows"]
    hooks = [flow for flow in flows if flow["webhookUrl"]]
    ticks = [flow for flow in flows if flow["schedule"]]
    assert len(flows) == 12 and len(hooks) == 6 and len(ticks) == 6
    assert all(len(flow["apiKeys"]) == 2 for flow in hooks)
    assert all(len(flow["nextRuns"]) == 5 for flow in ticks)


def _execution_run_for(make_integration, make_instance, customer, *, name: str, logs: int):
    """A run of ``logs`` log.write steps and a last step: ``logs + 1`` step results."""
    from executions.runner import execution_run

    steps = [
        {"name": f"Log {index}", "action": "log.write", "inputs": {"message": f"line {index}"}}
        for index in range(logs)
    ]
    steps.append({"name": "Reply", "action": "flow.return", "inputs": {"data": "done"}})
    spec = definition(name=name)
    spec["flows"][0]["steps"] = steps
    instance = make_instance(make_integration(spec), customer=customer, name=name)
    execution = execution_create(
        instance=instance,
        flow=instance.integration.flows.get(),
        trigger_kind=TriggerKind.MANUAL,
        payload={"body": {"data": {}}},
        enqueue=False,
    )
    execution_run(execution_id=str(execution.pk))
    execution.refresh_from_db()
    assert execution.status == "succeeded", execution.error
    return execution


@pytest.mark.parametrize("persona", ["staff_user", "user_a"])
def test_execution_detail_does_not_query_per_step_or_log_line(
    request, persona, make_integration, make_instance, customer_a, django_assert_max_num_queries
):
    api = _client_for(request.getfixturevalue(persona))
    small = _execution_run_for(make_integration, make_instance, customer_a, name="Small", logs=0)
    large = _execution_run_for(make_integration, make_instance, customer_a, name="Large", logs=9)

    body, single = _measured(api, f"/api/v1/executions/{small.pk}")
    assert len(body["steps"]) == 1 and len(body["logs"]) >= 1  # the runner's start and end
    small_logs = len(body["logs"])
    with django_assert_max_num_queries(single):
        response = api.get(f"/api/v1/executions/{large.pk}")
    assert response.status_code == 200
    body = response.json()
    assert len(body["steps"]) == 10
    assert len(body["logs"]) == small_logs + 9
    assert all(step["resultUrl"].endswith("/result") for step in body["steps"])
