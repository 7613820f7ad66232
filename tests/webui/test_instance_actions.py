"""The wizard's instance pages through Django's test client: save, deploy, pause and enable
(saved values staged until the deploy), API keys masked until revealed, the history, an
execution's page and its replay."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from executions.models import Execution, ExecutionStatus
from executions.runner import execution_run
from executions.services import execution_create
from instances.lifecycle import instance_deploy
from integrations.config_values import config_values_opened
from tests.fixtures.wizard import SECRET, configure_url, wizard_post

pytestmark = pytest.mark.django_db


def test_save_and_deploy_then_pause_and_enable(client, user_a, orders_instance):
    client.force_login(user_a)
    response = client.post(configure_url(orders_instance), wizard_post(deploy="1"))
    assert response.status_code == 302
    orders_instance.refresh_from_db()
    assert orders_instance.is_deployed and orders_instance.enabled

    detail = reverse("webui:instance", args=[orders_instance.pk])
    page = client.get(detail).content.decode()
    assert "http://testserver-base/trigger/" in page
    assert "Every weekday at 08:30 (America/Chicago)" in page
    assert page.count(" 08:30 C") == 5  # five next runs, in Chicago time (CST/CDT)

    client.post(reverse("webui:pause", args=[orders_instance.pk]))
    orders_instance.refresh_from_db()
    assert orders_instance.enabled is False
    client.post(reverse("webui:enable", args=[orders_instance.pk]))
    orders_instance.refresh_from_db()
    assert orders_instance.enabled is True


def test_save_on_a_deployed_instance_is_staged_until_the_deploy(client, user_a, orders_instance):
    instance_deploy(instance=orders_instance)
    client.force_login(user_a)
    detail = reverse("webui:instance", args=[orders_instance.pk])
    assert "take effect when you deploy" not in client.get(detail).content.decode()

    response = client.post(configure_url(orders_instance), wizard_post(cv1_value="eu"))

    assert response.status_code == 302
    orders_instance.refresh_from_db()
    live = config_values_opened(orders_instance)
    assert live["Region"] == "us" and live["Shop Secret"] == SECRET
    assert orders_instance.pending_config_values["Region"] == "eu"
    assert "Saved changes take effect when you deploy" in client.get(detail).content.decode()
    # What the user edits next is what was saved, not the live value.
    form = client.get(configure_url(orders_instance)).context["form"]
    assert form["cv1_value"].value() == "eu"

    client.post(reverse("webui:deploy", args=[orders_instance.pk]))

    orders_instance.refresh_from_db()
    assert orders_instance.pending_config_values is None
    live = config_values_opened(orders_instance)
    assert live["Region"] == "eu" and live["Shop Secret"] == SECRET
    assert "take effect when you deploy" not in client.get(detail).content.decode()


def test_save_and_redeploy_applies_the_values_at_once(client, user_a, orders_instance):
    instance_deploy(instance=orders_instance)
    client.force_login(user_a)

    client.post(configure_url(orders_instance), wizard_post(cv1_value="eu", deploy="1"))

    orders_instance.refresh_from_db()
    assert orders_instance.pending_config_values is None
    assert config_values_opened(orders_instance)["Region"] == "eu"


def test_save_on_a_never_deployed_instance_writes_the_values(client, user_a, orders_instance):
    client.force_login(user_a)
    client.post(configure_url(orders_instance), wizard_post(cv1_value="eu"))
    orders_instance.refresh_from_db()
    assert orders_instance.pending_config_values is None
    assert config_values_opened(orders_instance)["Region"] == "eu"


def test_deploy_with_incomplete_configuration_sends_the_user_to_the_wizard(
    client, user_a, orders_instance
):
    orders_instance.config_values = {}
    orders_instance.save()
    client.force_login(user_a)
    response = client.post(reverse("webui:deploy", args=[orders_instance.pk]), follow=True)
    assert response.redirect_chain[-1][0] == configure_url(orders_instance)
    assert "Shop Secret: A value is required." in response.content.decode()
    orders_instance.refresh_from_db()
    assert orders_instance.deployed_at is None


def test_api_keys_are_masked_on_the_page_and_revealed_on_request(
    client, user_a, make_instance, orders_integration
):
    instance = make_instance(orders_integration, config_values={"Shop Secret": SECRET})
    key = instance.api_keys.get(flow_name="Order Created").key
    client.force_login(user_a)
    page = client.get(reverse("webui:instance", args=[instance.pk])).content.decode()
    assert key not in page
    assert key[-4:] in page
    assert SECRET not in page
    revealed = client.post(
        reverse("webui:keys", args=[instance.pk]), {"flow": "Order Created"}
    ).json()
    assert revealed["keys"] == [key]
    assert f"Api-Key: {key}" in revealed["curl"]
    assert "http://testserver-base/trigger/" in revealed["curl"]


def test_key_reveal_needs_a_post_with_the_csrf_token(user_a, make_instance, orders_integration):
    instance = make_instance(orders_integration, config_values={"Shop Secret": SECRET})
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_a)
    url = reverse("webui:keys", args=[instance.pk])
    assert client.get(url).status_code == 405
    assert client.post(url, {"flow": "Order Created"}).status_code == 403


def test_history_execution_page_and_replay(client, user_a, make_instance, orders_integration):
    instance = make_instance(orders_integration, config_values={"Shop Secret": SECRET})
    execution = execution_create(
        instance=instance,
        flow=instance.integration.flows.get(name="Order Created"),
        trigger_kind="webhook",
        payload={"body": {"data": {"id": "A-7"}}},
        enqueue=False,
    )
    execution_run(execution_id=execution.pk)
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.SUCCEEDED

    client.force_login(user_a)
    history = client.get(reverse("webui:history", args=[instance.pk])).content.decode()
    assert f'data-execution="{execution.pk}" data-status="succeeded"' in history

    page = client.get(reverse("webui:execution", args=[execution.pk])).content.decode()
    assert "Reply" in page and "&quot;A-7&quot;" in page
    assert "order A-7" in page  # the log line

    response = client.post(reverse("webui:replay", args=[execution.pk]))
    replay = Execution.objects.get(replay_of=execution)
    assert response["Location"] == reverse("webui:execution", args=[replay.pk])
