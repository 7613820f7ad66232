"""The admin's lists fit a screen: the executions list's columns (short id, status badge,
trigger, instance, flow, start to the second in the user's zone, duration), its filters, its
query count; step durations on the detail; instances with history offer Remove, not Delete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from executions.models import Execution, StepResult, TriggerKind
from executions.selectors import elapsed, elapsed_display
from executions.services import execution_create
from instances.models import Customer, Instance
from tests.fixtures.domain import definition

pytestmark = pytest.mark.django_db

LIST = "/admin/executions/execution/"
STARTED = datetime(2026, 3, 6, 12, 0, 5, tzinfo=UTC)


def _execution(instance, *, status="succeeded", started=STARTED, seconds: float | None = 2.5):
    execution = execution_create(
        instance=instance,
        flow=instance.integration.flows.get(),
        trigger_kind=TriggerKind.WEBHOOK,
        payload={"body": {"data": {}}},
        enqueue=False,
    )
    ended = started + timedelta(seconds=seconds) if seconds is not None else None
    Execution.objects.filter(pk=execution.pk).update(
        status=status, started_at=started, ended_at=ended
    )
    return Execution.objects.get(pk=execution.pk)


@pytest.fixture
def world(make_integration, make_instance, customer_a, customer_b):
    orders = make_instance(make_integration(definition(name="Orders")), name="Shop")
    billing_spec = definition(name="Billing")
    billing_spec["flows"][0]["name"] = "Invoice"
    billing = make_instance(make_integration(billing_spec), customer=customer_b, name="Ledger")
    return {
        "ok": _execution(orders),
        "failed": _execution(billing, status="failed", seconds=75),
        "orders": orders,
        "billing": billing,
    }


def _listed(client, world, query: str = "") -> set[str]:
    """Which of the world's two executions (``ok``, ``failed``) the list shows."""
    page = client.get(LIST + query)
    assert page.status_code == 200, query
    text = page.content.decode()
    return {
        key
        for key in ("ok", "failed")
        if f"/admin/executions/execution/{world[key].pk}/change/" in text
    }


def test_the_list_shows_short_ids_badges_and_times_to_the_second_in_the_users_zone(
    client, staff_user, world, settings
):
    settings.TIME_ZONE = "Europe/Berlin"
    client.force_login(staff_user)
    page = client.get(LIST).content.decode()
    ok = world["ok"]
    assert f'<code title="{ok.id}">{ok.id.hex[:8]}</code>' in page
    assert '<span class="tf-badge tf-badge-succeeded">Succeeded</span>' in page
    assert '<span class="tf-badge tf-badge-failed">Failed</span>' in page
    assert ">Webhook<" in page
    assert "Shop<br><small" in page and ">Acme</small>" in page
    assert "2026-03-06<br>13:00:05" in page  # 12:00:05 UTC in Berlin, with its seconds
    assert "Times are in Europe/Berlin" in page
    assert "2.5 s" in page and "1 min 15 s" in page


def test_a_running_execution_says_how_long_so_far(client, staff_user, world):
    client.force_login(staff_user)
    _execution(world["orders"], status="running", seconds=None)
    with time_machine.travel(STARTED + timedelta(seconds=42), tick=False):
        page = client.get(LIST).content.decode()
    assert '42.0 s<br><small class="tf-muted">so far</small>' in page


def test_the_list_filters_by_status_integration_customer_flow_and_date(
    client, staff_user, world, customer_b
):
    client.force_login(staff_user)
    billing: Instance = world["billing"]
    assert _listed(client, world) == {"ok", "failed"}
    assert _listed(client, world, "?status__exact=failed") == {"failed"}
    assert _listed(client, world, f"?integration__id__exact={billing.integration_id}") == {"failed"}
    assert _listed(client, world, f"?customer__id__exact={customer_b.pk}") == {"failed"}
    assert _listed(client, world, "?flow__name=Invoice") == {"failed"}
    assert _listed(client, world, f"?instance={world['orders'].pk}") == {"ok"}
    today = world["ok"].created_at
    day = f"?created_at__year={today.year}&created_at__month={today.month}"
    assert _listed(client, world, day + f"&created_at__day={today.day}") == {"ok", "failed"}
    assert _listed(client, world, f"?created_at__year={today.year + 1}") == set()
    # The filters are offered on the page, named as people know them.
    page = client.get(LIST).content.decode()
    for title in ("By status", "By integration", "By customer", "By instance", "By flow"):
        assert title in page, title
    assert "Billing v1" in page and "Globex" in page


def test_the_list_takes_the_dashboards_links(client, staff_user, world):
    """The home page links here with these lookups (templates/admin/index.html)."""
    client.force_login(staff_user)
    failed = world["failed"]
    since = quote((failed.created_at - timedelta(hours=24)).isoformat())
    query = (
        f"?status__exact=failed&instance__id__exact={failed.instance_id}"
        f"&flow__id__exact={failed.flow_id}&created_at__gte={since}"
    )
    assert _listed(client, world, query) == {"failed"}
    later = quote((failed.created_at + timedelta(hours=1)).isoformat())
    assert _listed(client, world, f"?created_at__gte={later}") == set()


def test_the_list_does_not_query_per_row(
    client, staff_user, world, make_integration, make_instance, django_assert_max_num_queries
):
    client.force_login(staff_user)
    client.get(LIST)  # warm up the session and content types
    with CaptureQueriesContext(connection) as captured:
        assert client.get(LIST).status_code == 200
    few = len(captured)
    for index in range(8):
        customer = Customer.objects.create(name=f"Customer {index}", external_id=f"c{index}")
        spec = definition(name=f"Integration {index}")
        instance = make_instance(make_integration(spec), customer=customer, name=f"I{index}")
        for _ in range(3):
            _execution(instance)
    assert Execution.objects.count() == 26
    with django_assert_max_num_queries(few):
        page = client.get(LIST)
    assert page.content.decode().count('class="tf-badge ') == 26
    with django_assert_max_num_queries(few):
        assert client.get(LIST + "?status__exact=succeeded").status_code == 200


def test_the_detail_shows_each_steps_duration_and_times_with_seconds(
    client, staff_user, world, settings
):
    settings.TIME_ZONE = "UTC"
    execution = world["ok"]
    for position, milliseconds in enumerate((250, 3400)):
        StepResult.objects.create(
            execution=execution,
            position=position,
            name=f"Step {position}",
            action="log.write",
            status="succeeded",
            started_at=STARTED,
            ended_at=STARTED + timedelta(milliseconds=milliseconds),
        )
    client.force_login(staff_user)
    page = client.get(reverse("admin:executions_execution_change", args=[execution.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "250 ms" in text and "3.4 s" in text  # each step's duration
    assert "2026-03-06 12:00:05" in text  # started, to the second
    assert "2026-03-06 12:00:07" in text  # ended


def test_durations_read_as_people_say_them():
    assert elapsed(None, None) is None
    assert elapsed_display(None) == "—"
    assert elapsed_display(timedelta(milliseconds=850)) == "850 ms"
    assert elapsed_display(timedelta(seconds=12.44)) == "12.4 s"
    assert elapsed_display(timedelta(seconds=185)) == "3 min 05 s"
    assert elapsed_display(timedelta(hours=2, minutes=1, seconds=3)) == "2 h 01 min"
    # A clock step backwards never shows a negative time.
    assert elapsed(STARTED, STARTED - timedelta(seconds=1)) == timedelta(0)


# Instances: Remove, not Delete, once an instance has history -----------------------------


def test_an_instance_with_executions_offers_remove_not_delete(client, staff_user, world):
    client.force_login(staff_user)
    instance: Instance = world["orders"]
    change = reverse("admin:instances_instance_change", args=[instance.pk])
    delete = reverse("admin:instances_instance_delete", args=[instance.pk])
    remove = reverse("admin:instances_instance_remove", args=[instance.pk])
    page = client.get(change).content.decode()
    assert delete not in page
    assert f'href="{remove}"' in page
    assert client.get(delete).status_code == 403
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Instance.objects.filter(pk=instance.pk).exists()

    # Nor in bulk: the list offers Remove and no delete action.
    changelist = reverse("admin:instances_instance_changelist")
    listed = client.get(changelist).content.decode()
    assert 'value="delete_selected"' not in listed
    assert 'value="remove_instances"' in listed
    client.post(changelist, {"action": "delete_selected", "_selected_action": [str(instance.pk)]})
    assert Instance.objects.filter(pk=instance.pk).exists()


def test_remove_from_the_instance_page_asks_then_removes(client, staff_user, world):
    client.force_login(staff_user)
    instance: Instance = world["orders"]
    remove = reverse("admin:instances_instance_remove", args=[instance.pk])
    confirm = client.get(remove)
    assert confirm.status_code == 200
    assert "its 1 execution stays on record" in confirm.content.decode()
    instance.refresh_from_db()
    assert instance.removed_at is None  # asking changes nothing
    done = client.post(remove)
    assert done.status_code == 302
    instance.refresh_from_db()
    assert instance.removed_at is not None and not instance.enabled
    page = client.get(reverse("admin:instances_instance_change", args=[instance.pk]))
    assert f'href="{remove}"' not in page.content.decode()  # removed: nothing to offer
    again = client.post(remove, follow=True)
    assert "removed" in again.content.decode().lower()


def test_an_instance_that_never_ran_can_still_be_deleted(
    client, staff_user, make_integration, make_instance
):
    client.force_login(staff_user)
    spare = make_instance(make_integration(definition(name="Spare")), name="Spare")
    delete = reverse("admin:instances_instance_delete", args=[spare.pk])
    page = client.get(reverse("admin:instances_instance_change", args=[spare.pk]))
    assert delete in page.content.decode()
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not Instance.objects.filter(pk=spare.pk).exists()


def test_customer_users_are_refused_the_new_pages(client, user_a, world):
    client.force_login(user_a)
    for url in (
        LIST,
        reverse("admin:executions_execution_change", args=[world["ok"].pk]),
        reverse("admin:instances_instance_remove", args=[world["orders"].pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/admin/login/" in response["Location"]
    assert (
        client.post(
            reverse("admin:instances_instance_remove", args=[world["orders"].pk])
        ).status_code
        == 302
    )
    world["orders"].refresh_from_db()
    assert world["orders"].removed_at is None
