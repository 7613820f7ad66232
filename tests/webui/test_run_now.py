"""The wizard's Run now, through Django's test client: a button per schedule flow of a
running instance (none for webhooks, none while paused), POST only and with CSRF, a message
linking the run; another customer's instance is 404."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from executions.models import Execution, TriggerKind
from instances.lifecycle import instance_deploy, instance_pause

pytestmark = pytest.mark.django_db


def run_now_flows(html: str) -> list[str]:
    return re.findall(r'name="flow" value="([^"]*)" data-run-now>', html)


@pytest.fixture
def deployed(orders_instance):
    instance_deploy(instance=orders_instance)
    return orders_instance


def test_the_instance_page_has_run_now_for_its_schedule_flow_only(client, user_a, deployed):
    client.force_login(user_a)
    page = client.get(reverse("webui:instance", args=[deployed.pk])).content.decode()
    assert run_now_flows(page) == ["Nightly Sync"]
    instance_pause(instance=deployed)
    page = client.get(reverse("webui:instance", args=[deployed.pk])).content.decode()
    assert run_now_flows(page) == []


def test_run_now_starts_the_flow_and_links_the_run(client, user_a, deployed):
    client.force_login(user_a)
    url = reverse("webui:run-now", args=[deployed.pk])
    assert client.get(url).status_code == 405
    response = client.post(url, {"flow": "Nightly Sync"}, follow=True)
    execution = Execution.objects.get(instance=deployed)
    assert execution.trigger_kind == TriggerKind.SCHEDULE
    html = response.content.decode()
    assert "Nightly Sync is running now." in html
    link = reverse("webui:execution", args=[execution.pk])
    assert f'<a href="{link}">See the run</a>' in html


def test_run_now_needs_the_csrf_token(user_a, deployed):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_a)
    response = client.post(reverse("webui:run-now", args=[deployed.pk]), {"flow": "Nightly Sync"})
    assert response.status_code == 403
    assert not Execution.objects.filter(instance=deployed).exists()


def test_a_webhook_flow_is_refused_with_a_message(client, user_a, deployed):
    client.force_login(user_a)
    url = reverse("webui:run-now", args=[deployed.pk])
    html = client.post(url, {"flow": "Order Created"}, follow=True).content.decode()
    assert "call the URL" in html
    assert not Execution.objects.filter(instance=deployed).exists()


def test_a_paused_instance_says_so_and_runs_nothing(client, user_a, deployed):
    instance_pause(instance=deployed)
    client.force_login(user_a)
    url = reverse("webui:run-now", args=[deployed.pk])
    html = client.post(url, {"flow": "Nightly Sync"}, follow=True).content.decode()
    assert "did not run: The instance is paused" in html
    assert not Execution.objects.filter(instance=deployed).exists()


def test_another_customers_instance_is_404(client, user_b, deployed):
    client.force_login(user_b)
    response = client.post(reverse("webui:run-now", args=[deployed.pk]), {"flow": "Nightly Sync"})
    assert response.status_code == 404
    assert not Execution.objects.filter(instance=deployed).exists()
