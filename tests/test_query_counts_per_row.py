"""Query counts per row: no list (API or admin) nor API detail with embedded lists makes a
query per row.

Lists and details are measured with one row of everything, then again with several more:
the count must not grow with the rows (django_assert_max_num_queries with the one-row count).
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from executions.models import Execution, TriggerKind
from executions.runner import execution_run
from executions.services import execution_create
from instances.models import Customer
from instances.services import api_key_add
from tests.fixtures.api import api_client_for
from tests.fixtures.domain import definition
from tests.fixtures.queries import (
    activity_written_before_each_measure,  # noqa: F401 - autouse
    sql,
)

pytestmark = pytest.mark.django_db


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
    api = api_client_for(request.getfixturevalue(persona))
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
    api = api_client_for(user_a)
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
    api = api_client_for(request.getfixturevalue(persona))
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
    api = api_client_for(request.getfixturevalue(persona))
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
    api = api_client_for(request.getfixturevalue(persona))
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
