"""Customer users create instances only of integrations their customer already runs, by
the same rule in the API and the wizard (instances.tenancy.integration_for_new_instance); any
other integration answers 404 like a missing one, and nothing is created."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from instances.models import Instance
from tests.fixtures.domain import definition

pytestmark = pytest.mark.django_db


@pytest.fixture
def candidates(world, make_integration, make_instance, customer_b):
    """Integrations a customer A user may or may not start, by what A's customer runs."""
    runs_only_b = make_integration(definition(name="Globex Only"))
    make_instance(runs_only_b, customer=customer_b, name="B only")
    return {
        "run by A": (world["integration"], True),
        "run only by B": (runs_only_b, False),
        "run by nobody": (make_integration(definition(name="Unused")), False),
    }


def _api_create(api, integration_id, customer):
    return api.post(
        "/api/v1/instances/",
        {"integration": str(integration_id), "customer": str(customer.pk), "name": "Mine"},
        format="json",
    )


@pytest.mark.parametrize("which", ["run only by B", "run by nobody"])
def test_customer_user_cannot_create_an_instance_of_an_integration_it_does_not_run(
    candidates, api_a, customer_a, which
):
    integration, _ = candidates[which]
    before = Instance.objects.count()

    response = _api_create(api_a, integration.pk, customer_a)

    assert response.status_code == 404
    assert response.json() == {"error": "Not found."}
    assert Instance.objects.count() == before


def test_customer_user_creates_an_instance_of_an_integration_it_runs(candidates, api_a, customer_a):
    integration, _ = candidates["run by A"]
    response = _api_create(api_a, integration.pk, customer_a)
    assert response.status_code == 201
    assert response.json()["integration"]["id"] == str(integration.pk)


def test_api_and_wizard_agree_on_what_a_customer_user_may_start(
    candidates, api_a, customer_a, client, user_a
):
    client.force_login(user_a)
    for integration, allowed in candidates.values():
        api_status = _api_create(api_a, integration.pk, customer_a).status_code
        wizard_status = client.get(reverse("webui:new-configure", args=[integration.pk]))
        assert (api_status == 201, wizard_status.status_code == 200) == (allowed, allowed)


def test_unknown_integration_is_404_for_staff_too(staff_api, customer_a):
    response = _api_create(staff_api, uuid.uuid4(), customer_a)
    assert response.status_code == 404
