"""Each management API route (SPEC §5), as staff, with error shapes."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model

from executions.models import Execution, TriggerKind
from executions.runner import execution_run
from executions.services import execution_create
from instances.models import ApiKey, Instance

pytestmark = pytest.mark.django_db

YAML_DEFINITION = """
name: Render Notifier
configVariables:
  - key: Region
    type: picklist
    options: [us, eu]
    default: us
  - key: Sync Schedule
    type: schedule
    default: {scheduleType: custom, value: "*/5 * * * *", timeZone: America/Chicago}
flows:
  - name: Render Complete
    trigger: {type: webhook}
    steps:
      - name: Reply
        action: flow.return
        inputs: {data: "{{ trigger.body.data }}"}
  - name: Sync
    trigger:
      type: schedule
      schedule: {configVar: Sync Schedule}
    steps:
      - name: Noop
        action: flow.return
"""


def import_yaml(api, text: str = YAML_DEFINITION):
    return api.post("/api/v1/integrations/import", text, content_type="application/yaml")


def test_import_yaml_and_json(staff_api):
    first = import_yaml(staff_api)
    assert first.status_code == 201
    body = first.json()
    assert body["name"] == "Render Notifier" and body["version"] == 1 and body["id"]
    as_json = json.dumps(
        {
            "name": "Render Notifier",
            "flows": [
                {
                    "name": "F",
                    "trigger": {"type": "webhook"},
                    "steps": [{"name": "S", "action": "flow.return"}],
                }
            ],
        }
    )
    second = staff_api.post("/api/v1/integrations/import", as_json, content_type="application/json")
    assert second.status_code == 201
    assert second.json()["version"] == 2


def test_import_errors_name_the_place(staff_api):
    bad = YAML_DEFINITION.replace('value: "*/5 * * * *"', 'value: "not cron"')
    response = import_yaml(staff_api, bad)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Invalid integration definition."
    assert any(path.startswith("configVariables[1].default") for path in body["fields"])


def test_import_of_unparseable_text_is_400(staff_api):
    response = import_yaml(staff_api, "name: [unclosed")
    assert response.status_code == 400
    assert "fields" in response.json()


def test_integration_detail_lists_flows_and_config_variables(staff_api):
    integration_id = import_yaml(staff_api).json()["id"]
    detail = staff_api.get(f"/api/v1/integrations/{integration_id}").json()
    assert [f["name"] for f in detail["flows"]] == ["Render Complete", "Sync"]
    assert [v["key"] for v in detail["configVariables"]] == ["Region", "Sync Schedule"]


def test_customer_create_and_list(staff_api):
    created = staff_api.post(
        "/api/v1/customers/", {"name": "Acme", "externalId": "acme"}, format="json"
    )
    assert created.status_code == 201
    assert created.json()["externalId"] == "acme"
    duplicate = staff_api.post(
        "/api/v1/customers/", {"name": "Acme 2", "externalId": "acme"}, format="json"
    )
    assert duplicate.status_code == 400
    assert "externalId" in duplicate.json()["fields"]
    assert staff_api.get("/api/v1/customers/").json()["count"] == 1


def test_customer_users_can_be_created_by_staff(staff_api, customer_a, client):
    response = staff_api.post(
        f"/api/v1/customers/{customer_a.pk}/users",
        {"username": "carol", "password": "long-enough-pw"},
        format="json",
    )
    assert response.status_code == 201

    carol = get_user_model().objects.get(username="carol")
    assert carol.customer_membership.customer == customer_a
    again = staff_api.post(
        f"/api/v1/customers/{customer_a.pk}/users",
        {"username": "carol", "password": "long-enough-pw"},
        format="json",
    )
    assert again.status_code == 400


def test_instance_create_deploy_detail_pause_enable_delete(staff_api, customer_a):
    integration_id = import_yaml(staff_api).json()["id"]
    created = staff_api.post(
        "/api/v1/instances/",
        {
            "integration": integration_id,
            "customer": str(customer_a.pk),
            "name": "Main",
            "configVariables": {"Region": "eu"},
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    instance_id = created.json()["id"]
    assert created.json()["configVariables"]["Region"] == "eu"

    deployed = staff_api.post(f"/api/v1/instances/{instance_id}/deploy")
    assert deployed.status_code == 200
    flows = {f["name"]: f for f in deployed.json()["flows"]}
    assert flows["Render Complete"]["webhookUrl"].startswith("http://testserver-base/trigger/")
    assert flows["Render Complete"]["apiKeys"] == []
    assert flows["Sync"]["webhookUrl"] is None
    assert len(flows["Sync"]["nextRuns"]) == 5
    assert flows["Sync"]["nextRuns"][0].endswith(("-06:00", "-05:00"))  # America/Chicago

    assert staff_api.post(f"/api/v1/instances/{instance_id}/pause").json()["enabled"] is False
    assert staff_api.post(f"/api/v1/instances/{instance_id}/enable").json()["enabled"] is True

    assert staff_api.delete(f"/api/v1/instances/{instance_id}").status_code == 204
    assert staff_api.get(f"/api/v1/instances/{instance_id}").status_code == 404
    assert Instance.objects.filter(pk=instance_id, removed_at__isnull=False).exists()


def test_bad_config_values_name_the_field_and_save_nothing(staff_api, customer_a):
    integration_id = import_yaml(staff_api).json()["id"]
    response = staff_api.post(
        "/api/v1/instances/",
        {
            "integration": integration_id,
            "customer": str(customer_a.pk),
            "name": "Main",
            "configVariables": {"Region": "mars"},
        },
        format="json",
    )
    assert response.status_code == 400
    assert "configVariables.Region" in response.json()["fields"]
    assert not Instance.objects.exists()


def test_bad_json_body_is_400_with_error(staff_api):
    response = staff_api.post("/api/v1/customers/", "{nope", content_type="application/json")
    assert response.status_code == 400
    assert "error" in response.json()


def test_unknown_ids_are_404(staff_api):
    assert staff_api.get("/api/v1/instances/not-a-uuid").status_code == 404
    assert staff_api.get("/api/v1/executions/00000000-0000-0000-0000-000000000000").json() == {
        "error": "Not found."
    }


def test_bad_filter_is_400(staff_api):
    response = staff_api.get("/api/v1/instances/?customer=nope")
    assert response.status_code == 400
    assert response.json()["fields"] == {"customer": "Must be a UUID."}


def test_api_keys_add_and_revoke(staff_api, world):
    instance = world["instance_a"]
    added = staff_api.post(f"/api/v1/instances/{instance.pk}/flows/Echo/api-keys")
    assert added.status_code == 201
    key = added.json()["key"]
    assert ApiKey.objects.filter(instance=instance, key=key).exists()
    detail = staff_api.get(f"/api/v1/instances/{instance.pk}").json()
    assert detail["flows"][0]["apiKeys"] == [key]
    assert (
        staff_api.delete(f"/api/v1/instances/{instance.pk}/flows/Echo/api-keys/{key}").status_code
        == 204
    )
    assert not ApiKey.objects.filter(key=key).exists()
    assert (
        staff_api.delete(f"/api/v1/instances/{instance.pk}/flows/Echo/api-keys/{key}").status_code
        == 404
    )
    assert staff_api.post(f"/api/v1/instances/{instance.pk}/flows/Nope/api-keys").status_code == 400


def test_executions_list_filters_and_paginates(staff_api, world):
    listing = staff_api.get(f"/api/v1/executions/?instance={world['instance_a'].pk}&status=queued")
    body = listing.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert [r["id"] for r in body["results"]] == [str(world["execution_a"].pk)]
    assert staff_api.get("/api/v1/executions/?status=failed").json()["count"] == 0
    assert staff_api.get("/api/v1/executions/?flow=Echo").json()["count"] >= 2


def test_execution_detail_and_replay(staff_api, world):
    original = world["execution_a"]
    detail = staff_api.get(f"/api/v1/executions/{original.pk}").json()
    assert detail["status"] == "queued" and detail["steps"] == [] and detail["replayOf"] is None
    replay = staff_api.post(f"/api/v1/executions/{original.pk}/replay")
    assert replay.status_code == 201
    assert replay.json()["replayOf"] == str(original.pk)
    new = Execution.objects.get(pk=replay.json()["id"])
    assert new.replay_of == original
    assert new.trigger_payload["executionId"] == str(new.pk)


def test_schema_and_docs_are_public(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/instances/" in schema.content
    assert client.get("/api/docs/").status_code == 200


def test_result_endpoint_answers_like_a_sync_caller(staff_api, world):
    instance = world["instance_a"]
    execution = execution_create(
        instance=instance,
        flow=instance.integration.flows.get(name="Echo"),
        trigger_kind=TriggerKind.WEBHOOK,
        payload={"body": {"data": {"x": 1}}},
        enqueue=False,
    )
    execution_run(execution_id=str(execution.pk))
    execution.refresh_from_db()
    assert execution.status == "succeeded", execution.error
    response = staff_api.get(f"/api/v1/executions/{execution.pk}/result")
    assert response.status_code == 200
    assert response.json() == {"x": 1}
    execution.status, execution.error = "failed", "The widget is not in the database"
    execution.save(update_fields=["status", "error"])
    failed = staff_api.get(f"/api/v1/executions/{execution.pk}/result")
    assert failed.status_code == 400
    assert failed.json() == {"error": "The widget is not in the database"}
