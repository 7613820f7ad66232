"""Three personas on every list and detail route: staff see all, each customer user only
its own, and another tenant's id is 404 with the same body as a missing one."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.django_db


def ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {str(item["id"]) for item in response.json()["results"]}


def test_instances_list_is_scoped(world, staff_api, api_a, api_b):
    a, b = str(world["instance_a"].pk), str(world["instance_b"].pk)
    assert ids(staff_api.get("/api/v1/instances/")) == {a, b}
    assert ids(api_a.get("/api/v1/instances/")) == {a}
    assert ids(api_b.get("/api/v1/instances/")) == {b}


def test_executions_list_is_scoped(world, staff_api, api_a, api_b):
    a, b = str(world["execution_a"].pk), str(world["execution_b"].pk)
    assert {a, b} <= ids(staff_api.get("/api/v1/executions/"))
    assert a in ids(api_a.get("/api/v1/executions/"))
    assert b not in ids(api_a.get("/api/v1/executions/"))
    assert a not in ids(api_b.get("/api/v1/executions/"))


def test_customers_list_is_scoped(world, staff_api, api_a, customer_a, customer_b):
    assert ids(staff_api.get("/api/v1/customers/")) == {str(customer_a.pk), str(customer_b.pk)}
    assert ids(api_a.get("/api/v1/customers/")) == {str(customer_a.pk)}


def test_integrations_list_is_scoped(world, staff_api, api_a, make_integration):
    unused = make_integration(name="Unused")
    staff_ids = ids(staff_api.get("/api/v1/integrations/"))
    assert {str(world["integration"].pk), str(unused.pk)} <= staff_ids
    assert ids(api_a.get("/api/v1/integrations/")) == {str(world["integration"].pk)}


@pytest.mark.parametrize(
    "route",
    [
        "/api/v1/instances/{instance_b}",
        "/api/v1/executions/{execution_b}",
        "/api/v1/executions/{execution_b}/result",
        "/api/v1/customers/{customer_b}",
    ],
)
def test_other_tenants_objects_are_404_like_missing_ones(world, api_a, api_b, customer_b, route):
    names = {
        "instance_b": world["instance_b"].pk,
        "execution_b": world["execution_b"].pk,
        "customer_b": customer_b.pk,
    }
    foreign = api_a.get(route.format(**names))
    missing = api_a.get(route.format(**{k: uuid.uuid4() for k in names}))
    own = api_b.get(route.format(**names))
    assert foreign.status_code == 404
    assert foreign.json() == missing.json() == {"error": "Not found."}
    assert own.status_code in (200, 202)


@pytest.mark.parametrize("verb", ["deploy", "pause", "enable"])
def test_other_tenants_instance_actions_are_404(world, api_a, verb):
    response = api_a.post(f"/api/v1/instances/{world['instance_b'].pk}/{verb}")
    assert response.status_code == 404


def test_other_tenants_instance_cannot_be_deleted(world, api_a):
    assert api_a.delete(f"/api/v1/instances/{world['instance_b'].pk}").status_code == 404
    world["instance_b"].refresh_from_db()
    assert world["instance_b"].removed_at is None


def test_replay_of_other_tenants_execution_is_404(world, api_a):
    assert api_a.post(f"/api/v1/executions/{world['execution_b'].pk}/replay").status_code == 404


def test_customer_user_cannot_import_or_create_customers(api_a):
    assert (
        api_a.post(
            "/api/v1/customers/", {"name": "X", "externalId": "x"}, format="json"
        ).status_code
        == 403
    )
    response = api_a.post("/api/v1/integrations/import", "name: X", content_type="application/yaml")
    assert response.status_code == 403
    assert "error" in response.json()


def test_customer_user_cannot_create_instances_for_another_customer(world, api_a, customer_b):
    response = api_a.post(
        "/api/v1/instances/",
        {"integration": str(world["integration"].pk), "customer": str(customer_b.pk), "name": "X"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {"customer": "No such customer."}


def test_no_token_is_401(client):
    response = client.get("/api/v1/instances/")
    assert response.status_code == 401
    assert "error" in response.json()


def test_bad_token_is_401(client):
    response = client.get("/api/v1/instances/", HTTP_AUTHORIZATION="Bearer nope")
    assert response.status_code == 401
