"""The admin instance page's Run now buttons: one beside each schedule flow and each polling
flow of a running instance, posting to the Run now view, which says what it did and links
the new execution (or the poll's)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from executions.models import Execution, ExecutionStatus, TriggerKind
from instances.lifecycle import instance_pause
from tests.fixtures.polling import FLOW, orders_definition
from tests.fixtures.schedules import one_flow_definition, schedule_definition

pytestmark = pytest.mark.django_db


def run_now_buttons(html: str) -> list[str]:
    """The flow names the page's Run now buttons post."""
    return re.findall(r'class="button tf-run-now"[^>]*value="([^"]*)">Run now</button>', html)


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


def test_each_schedule_flow_has_a_run_now_button_and_webhooks_have_none(
    make_integration, make_instance, staff_client
):
    instance = make_instance(make_integration(schedule_definition()))
    html = staff_client.get(reverse("admin:instances_instance_change", args=[instance.pk]))
    assert run_now_buttons(html.content.decode()) == ["Hourly Cron", "Every Ten", "Configured"]


def test_a_paused_instance_shows_no_run_now_button(make_integration, make_instance, staff_client):
    instance = make_instance(make_integration(schedule_definition()))
    instance_pause(instance=instance)
    html = staff_client.get(reverse("admin:instances_instance_change", args=[instance.pk]))
    assert run_now_buttons(html.content.decode()) == []


def test_run_now_starts_the_flow_and_links_its_execution(
    make_integration, make_instance, staff_client
):
    instance = make_instance(make_integration(schedule_definition()))
    url = reverse("admin:instances_instance_run_now", args=[instance.pk])
    assert staff_client.get(url).status_code == 405
    response = staff_client.post(url, {"flow": "Every Ten"}, follow=True)
    execution = Execution.objects.get(instance=instance)
    assert execution.trigger_kind == TriggerKind.SCHEDULE
    assert execution.flow.name == "Every Ten"
    link = reverse("admin:executions_execution_change", args=[execution.pk])
    html = response.content.decode()
    assert "Ran 'Every Ten' now: execution" in html
    assert f'<a href="{link}">{execution.pk}</a>' in html


def test_a_busy_singleton_says_it_did_not_run_and_links_the_skip(
    make_integration, make_instance, staff_client
):
    definition = one_flow_definition({"every": 1, "unit": "hours"}, singleton=True)
    instance = make_instance(make_integration(definition))
    url = reverse("admin:instances_instance_run_now", args=[instance.pk])
    staff_client.post(url, {"flow": "Tick"})
    html = staff_client.post(url, {"flow": "Tick"}, follow=True).content.decode()
    skipped = Execution.objects.get(instance=instance, status=ExecutionStatus.CANCELED)
    assert "did not run: Skipped: the previous run of this flow is still running." in html
    assert reverse("admin:executions_execution_change", args=[skipped.pk]) in html


def test_a_webhook_flow_is_refused_with_a_message(make_integration, make_instance, staff_client):
    instance = make_instance(make_integration(schedule_definition()))
    url = reverse("admin:instances_instance_run_now", args=[instance.pk])
    html = staff_client.post(url, {"flow": "Hook"}, follow=True).content.decode()
    assert "call the URL" in html
    assert not Execution.objects.filter(instance=instance).exists()


def test_a_polling_flow_has_a_button_and_run_now_polls(
    item_source, make_integration, make_instance, staff_client
):
    definition = orders_definition(item_source.url("/orders"), trigger={"onDeploy": "backfill"})
    instance = make_instance(make_integration(definition))
    page = reverse("admin:instances_instance_change", args=[instance.pk])
    assert run_now_buttons(staff_client.get(page).content.decode()) == [FLOW]
    item_source.add(2)
    url = reverse("admin:instances_instance_run_now", args=[instance.pk])
    html = staff_client.post(url, {"flow": FLOW}, follow=True).content.decode()
    started = list(Execution.objects.filter(instance=instance).order_by("arrived_at"))
    assert len(started) == 2
    assert "Polled 'New Orders' now: 2 items, 2 new executions:" in html
    for execution in started:
        assert reverse("admin:executions_execution_change", args=[execution.pk]) in html


def test_a_failed_poll_says_so_and_links_its_failed_execution(
    item_source, make_integration, make_instance, staff_client
):
    instance = make_instance(make_integration(orders_definition(item_source.url("/orders"))))
    item_source.fail_with(503)
    url = reverse("admin:instances_instance_run_now", args=[instance.pk])
    html = staff_client.post(url, {"flow": FLOW}, follow=True).content.decode()
    failed = Execution.objects.get(instance=instance)
    assert failed.status == ExecutionStatus.FAILED
    assert "the poll failed" in html and "503" in html
    assert reverse("admin:executions_execution_change", args=[failed.pk]) in html
