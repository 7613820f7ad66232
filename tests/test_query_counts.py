"""Query counts: the webhook hot path asks the database only to store (what it resolves is
cached, and a change to routing takes effect on the next request), and a run reads its
definition from its execution. Lists and details: test_query_counts_per_row.py.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.cache import RoutingCache, routing_cache
from executions.results import execution_final_result
from executions.runner import execution_run
from executions.services import execution_create
from instances.lifecycle import instance_enable, instance_pause, instance_remove
from instances.models import Endpoint
from instances.services import api_key_add, organization_api_key_add
from integrations.models import ConfigVariable
from tests.fixtures.domain import definition
from tests.fixtures.executions import execution_make
from tests.fixtures.queries import (
    activity_written_before_each_measure,  # noqa: F401 - autouse
    sql,
)

pytestmark = pytest.mark.django_db

BODY = json.dumps({"event": "order.created", "data": {"id": 1}})


def post(client, url: str, **kwargs):
    return client.post(url, data=BODY, content_type="application/json", **kwargs)


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
    execution = execution_make(**kwargs)
    execution_run(execution_id=str(execution.pk))
    execution.refresh_from_db()
    return execution


def test_a_second_run_of_a_flow_reads_only_its_execution_of_the_definition_and_rows():
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
