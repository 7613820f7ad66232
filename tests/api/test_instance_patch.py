"""PATCH /api/v1/instances/{id}: name and config values, checked as on create; only the
keys given change; a secret left out keeps its value; ``changedSinceDeploy`` says a
deploy is due; a customer user may change its own customer's instance only."""

from __future__ import annotations

import pytest

from instances.models import Instance
from integrations.config_values import config_values_opened

pytestmark = pytest.mark.django_db

WITH_SECRET = {
    "name": "Configured",
    "configVariables": [
        {"key": "Region", "type": "picklist", "options": ["us", "eu"], "default": "us"},
        {"key": "Batch", "type": "number", "default": 10},
        {"key": "Token", "type": "secret", "required": True},
    ],
    "flows": [
        {
            "name": "Hook",
            "trigger": {"type": "webhook"},
            "steps": [{"name": "R", "action": "flow.return"}],
        }
    ],
}


@pytest.fixture
def instance(make_integration, make_instance) -> Instance:
    return make_instance(
        make_integration(WITH_SECRET), config_values={"Region": "eu", "Token": "tok-1"}
    )


def patch(api, instance, body):
    return api.patch(f"/api/v1/instances/{instance.pk}", body, format="json")


def test_only_the_keys_given_change_and_a_secret_left_out_is_kept(instance, staff_api):
    response = patch(staff_api, instance, {"configVariables": {"Batch": 25}})

    assert response.status_code == 200, response.content
    instance.refresh_from_db()
    assert config_values_opened(instance) == {"Region": "eu", "Batch": 25, "Token": "tok-1"}
    assert response.json()["configVariables"]["Token"] == "••••••"
    assert response.json()["configVariables"]["Batch"] == 25


def test_name_changes_alone(instance, staff_api):
    response = patch(staff_api, instance, {"name": "Renamed"})
    assert response.status_code == 200
    assert response.json()["name"] == "Renamed"
    instance.refresh_from_db()
    assert config_values_opened(instance)["Token"] == "tok-1"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"configVariables": {"Region": "mars"}}, "configVariables.Region"),
        ({"configVariables": {"Nope": 1}}, "configVariables.Nope"),
        ({"configVariables": {"Batch": "many"}}, "configVariables.Batch"),
        ({"configVariables": {"Token": ""}}, "configVariables.Token"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"configVariables": ["Region"]}, "configVariables"),
        ({"customer": "someone else"}, "customer"),
    ],
)
def test_bad_values_are_400_naming_the_field_and_change_nothing(instance, staff_api, body, field):
    before = (instance.name, dict(instance.config_values))

    response = patch(staff_api, instance, body)

    assert response.status_code == 400
    assert field in response.json()["fields"]
    instance.refresh_from_db()
    assert (instance.name, instance.config_values) == before


def test_changed_since_deploy_until_the_next_deploy(instance, staff_api):
    detail = staff_api.get(f"/api/v1/instances/{instance.pk}").json()
    assert detail["changedSinceDeploy"] is False

    patched = patch(staff_api, instance, {"configVariables": {"Region": "us"}}).json()
    assert patched["changedSinceDeploy"] is True

    deployed = staff_api.post(f"/api/v1/instances/{instance.pk}/deploy").json()
    assert deployed["changedSinceDeploy"] is False


def test_a_customer_user_changes_its_own_instance_and_not_another_tenants(instance, api_a, api_b):
    assert patch(api_b, instance, {"name": "Hijacked"}).status_code == 404
    assert patch(api_a, instance, {"name": "Ours"}).status_code == 200
    instance.refresh_from_db()
    assert instance.name == "Ours"


def test_a_removed_instance_is_404(instance, staff_api):
    staff_api.delete(f"/api/v1/instances/{instance.pk}")
    assert patch(staff_api, instance, {"name": "Ghost"}).status_code == 404
