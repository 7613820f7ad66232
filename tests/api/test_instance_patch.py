"""PATCH /api/v1/instances/{id}: name and config values, checked as on create; only the
keys given change; a secret left out keeps its value; values of a deployed instance are
staged and take effect at its next deploy (runs keep the live ones until then), those of an
instance never deployed are written at once; ``changedSinceDeploy`` says a deploy is due;
a customer user may change its own customer's instance only."""

from __future__ import annotations

import pytest

from instances.lifecycle import instance_deploy
from instances.models import Instance
from integrations.config_values import config_values_opened
from tests.fixtures.executions import flow_run_in_process

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
            "steps": [
                {
                    "name": "R",
                    "action": "flow.return",
                    "inputs": {
                        "data": {
                            "region": "{{ configVars['Region'] }}",
                            "batch": "{{ configVars['Batch'] }}",
                            "token": "{{ configVars['Token'] }}",
                        }
                    },
                }
            ],
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


def run_hook(instance: Instance) -> dict:
    return flow_run_in_process(instance, "Hook")


def test_only_the_keys_given_change_and_a_secret_left_out_is_kept(instance, staff_api):
    response = patch(staff_api, instance, {"configVariables": {"Batch": 25}})

    assert response.status_code == 200, response.content
    assert response.json()["configVariables"] == {"Region": "eu", "Batch": 25, "Token": "••••••"}
    instance_deploy(instance=instance)
    instance.refresh_from_db()
    assert config_values_opened(instance) == {"Region": "eu", "Batch": 25, "Token": "tok-1"}


def test_a_deployed_instances_change_waits_for_the_next_deploy(instance, staff_api):
    patched = patch(staff_api, instance, {"configVariables": {"Region": "us", "Batch": 25}})

    assert patched.status_code == 200, patched.content
    assert patched.json()["configVariables"]["Region"] == "us"
    assert patched.json()["changedSinceDeploy"] is True
    assert run_hook(instance) == {"region": "eu", "batch": 10, "token": "tok-1"}

    deployed = staff_api.post(f"/api/v1/instances/{instance.pk}/deploy")

    assert deployed.json()["changedSinceDeploy"] is False
    assert deployed.json()["configVariables"]["Region"] == "us"
    assert run_hook(instance) == {"region": "us", "batch": 25, "token": "tok-1"}
    instance.refresh_from_db()
    assert instance.pending_config_values is None


def test_staged_changes_add_up_and_a_new_secret_waits_too(instance, staff_api):
    patch(staff_api, instance, {"configVariables": {"Batch": 25}})
    second = patch(staff_api, instance, {"configVariables": {"Token": "tok-2"}})

    assert second.json()["configVariables"] == {"Region": "eu", "Batch": 25, "Token": "••••••"}
    assert run_hook(instance)["token"] == "tok-1"
    staff_api.post(f"/api/v1/instances/{instance.pk}/deploy")
    assert run_hook(instance) == {"region": "eu", "batch": 25, "token": "tok-2"}


def test_staging_the_live_values_again_is_no_change(instance, staff_api):
    patched = patch(staff_api, instance, {"configVariables": {"Region": "eu"}})
    assert patched.json()["changedSinceDeploy"] is False


def test_a_never_deployed_instance_is_changed_at_once(make_integration, make_instance, staff_api):
    draft = make_instance(
        make_integration(WITH_SECRET), config_values={"Token": "tok-1"}, deploy=False
    )

    response = patch(staff_api, draft, {"configVariables": {"Region": "eu"}})

    assert response.status_code == 200, response.content
    assert response.json()["changedSinceDeploy"] is False
    draft.refresh_from_db()
    assert draft.pending_config_values is None
    assert config_values_opened(draft) == {"Region": "eu", "Batch": 10, "Token": "tok-1"}
    assert run_hook(draft)["region"] == "eu"


def test_name_changes_alone_and_at_once(instance, staff_api):
    response = patch(staff_api, instance, {"name": "Renamed"})
    assert response.status_code == 200
    assert response.json()["name"] == "Renamed"
    assert response.json()["changedSinceDeploy"] is True
    instance.refresh_from_db()
    assert instance.name == "Renamed"
    assert instance.pending_config_values is None
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
    before = (instance.name, dict(instance.config_values), instance.pending_config_values)

    response = patch(staff_api, instance, body)

    assert response.status_code == 400
    assert field in response.json()["fields"]
    instance.refresh_from_db()
    assert (instance.name, instance.config_values, instance.pending_config_values) == before


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
