"""The admin: every page renders for staff, none for customer users; lifecycle actions
and replay work; lists do not query per row. (The flow form: tests/integrations/
test_admin_trigger_editor.py.)"""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from executions.models import Execution, TriggerKind
from executions.services import execution_create
from instances.models import ApiKey, Endpoint, Instance

pytestmark = pytest.mark.django_db

SCHEDULED = {
    "name": "Scheduled",
    "configVariables": [{"key": "Secret", "type": "secret", "default": "hunter22"}],
    "flows": [
        {
            "name": "Tick",
            "trigger": {"type": "schedule", "schedule": {"cron": "*/5 * * * *"}},
            "steps": [{"name": "R", "action": "flow.return"}],
        },
        {
            "name": "Hook",
            "trigger": {"type": "webhook"},
            "steps": [{"name": "R", "action": "flow.return"}],
        },
    ],
}


@pytest.fixture
def objects(make_integration, make_instance):
    integration = make_integration(SCHEDULED)
    instance = make_instance(integration)
    execution = execution_create(
        instance=instance,
        flow=integration.flows.get(name="Hook"),
        trigger_kind=TriggerKind.WEBHOOK,
        payload={"body": {"data": b"\x00\x01"}},
        enqueue=False,
    )
    api_key = ApiKey.objects.create(instance=instance, flow_name="Hook")
    return {
        "integration": integration,
        "flow": integration.flows.get(name="Tick"),
        "instance": instance,
        "execution": execution,
        "customer": instance.customer,
        "apikey": api_key,
        "endpoint": Endpoint.objects.filter(instance=instance).first(),
    }


def admin_urls(objects) -> list[str]:
    urls = [reverse("admin:index")]
    for model, key in [
        ("integrations_integration", "integration"),
        ("integrations_flow", "flow"),
        ("instances_customer", "customer"),
        ("instances_instance", "instance"),
        ("instances_apikey", "apikey"),
        ("executions_execution", "execution"),
        ("triggers_endpoint", "endpoint"),
    ]:
        urls.append(reverse(f"admin:{model}_changelist"))
        urls.append(reverse(f"admin:{model}_change", args=[objects[key].pk]))
        if key not in {"execution", "endpoint"}:  # made by runs and deploys, never added
            urls.append(reverse(f"admin:{model}_add"))
    urls.append(
        reverse("admin:integrations_integration_definition", args=[objects["integration"].pk])
    )
    urls.append(reverse("admin:executions_execution_result", args=[objects["execution"].pk]))
    return urls


def test_every_admin_page_renders_for_staff(client, staff_user, objects):
    client.force_login(staff_user)
    for url in admin_urls(objects):
        response = client.get(url)
        assert response.status_code == 200, url


def test_customer_users_are_refused_everywhere(client, user_a, objects):
    client.force_login(user_a)
    for url in admin_urls(objects):
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/admin/login/" in response["Location"]


def test_secrets_and_keys_are_masked(client, staff_user, objects):
    client.force_login(staff_user)
    instance_page = client.get(
        reverse("admin:instances_instance_change", args=[objects["instance"].pk])
    ).content.decode()
    assert "hunter22" not in instance_page
    assert objects["apikey"].key not in instance_page
    assert objects["apikey"].key[-4:] in instance_page
    keys_page = client.get(reverse("admin:instances_apikey_changelist")).content.decode()
    assert objects["apikey"].key not in keys_page


def test_definition_view_shows_yaml(client, staff_user, objects):
    client.force_login(staff_user)
    url = reverse("admin:integrations_integration_definition", args=[objects["integration"].pk])
    assert "*/5 * * * *" in client.get(url).content.decode()
    download = client.get(url + "?download=1")
    assert download["Content-Type"] == "application/yaml"
    assert b"name: Scheduled" in download.content


def test_lifecycle_actions(client, staff_user, objects):
    client.force_login(staff_user)
    instance = objects["instance"]
    url = reverse("admin:instances_instance_changelist")

    def act(action: str):
        return client.post(url, {"action": action, "_selected_action": [str(instance.pk)]})

    act("pause_instances")
    instance.refresh_from_db()
    assert not instance.enabled
    act("enable_instances")
    instance.refresh_from_db()
    assert instance.enabled
    act("deploy_instances")
    assert Execution.objects.filter(instance=instance).count() == 1  # no deploy flows here
    act("remove_instances")
    instance.refresh_from_db()
    assert instance.removed_at is not None
    assert not Endpoint.objects.filter(instance=instance).exists()


def test_rotate_replaces_the_key(client, staff_user, objects):
    client.force_login(staff_user)
    old = objects["apikey"]
    client.post(
        reverse("admin:instances_apikey_changelist"),
        {"action": "rotate_keys", "_selected_action": [str(old.pk)]},
    )
    assert not ApiKey.objects.filter(pk=old.pk).exists()
    new = ApiKey.objects.get(instance=old.instance, flow_name="Hook")
    assert new.key != old.key


def test_replay_action(client, staff_user, objects):
    client.force_login(staff_user)
    original = objects["execution"]
    client.post(
        reverse("admin:executions_execution_changelist"),
        {"action": "replay_executions", "_selected_action": [str(original.pk)]},
    )
    assert Execution.objects.filter(replay_of=original).count() == 1


@pytest.mark.parametrize(
    "model",
    [
        "executions_execution",
        "instances_instance",
        "instances_apikey",
        "integrations_flow",
        "integrations_integration",
        "triggers_endpoint",
    ],
)
def test_changelists_do_not_query_per_row(
    client, staff_user, objects, make_instance, django_assert_max_num_queries, model
):
    client.force_login(staff_user)
    url = reverse(f"admin:{model}_changelist")
    client.get(url)  # warm up session and content types
    for index in range(15):
        instance = make_instance(objects["integration"], name=f"Extra {index}")
        execution_create(
            instance=instance,
            flow=objects["integration"].flows.get(name="Hook"),
            trigger_kind=TriggerKind.WEBHOOK,
            payload={},
            enqueue=False,
        )
        ApiKey.objects.create(instance=instance, flow_name="Hook")
    assert Instance.objects.count() == 16
    with django_assert_max_num_queries(20):
        assert client.get(url).status_code == 200


def test_execution_filter_with_a_bad_instance_id_is_empty_not_500(client, staff_user, objects):
    client.force_login(staff_user)
    response = client.get(reverse("admin:executions_execution_changelist") + "?instance=nope")
    assert response.status_code == 200


def test_instance_page_shows_schedules_with_their_next_runs(client, staff_user, objects):
    client.force_login(staff_user)
    url = reverse("admin:instances_instance_change", args=[objects["instance"].pk])
    with time_machine.travel("2026-03-06 12:01:00+00:00", tick=False):
        page = client.get(url).content.decode()
    assert "<strong>Tick</strong>: Every 5 minutes" in page
    assert "Next runs: 2026-03-06T12:05:00+00:00, 2026-03-06T12:10:00+00:00" in page
