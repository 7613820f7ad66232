"""The wizard's views through Django's test client: sign-in, tenant isolation (another
customer's pages are 404) and the schedule preview. The form: test_wizard_form.py;
lifecycle actions, keys and history: test_instance_actions.py."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from executions.models import Execution
from executions.services import execution_create
from instances.services import instance_create
from tests.fixtures.wizard import SECRET, configure_url, wizard_post
from tests.webui.conftest import ORDERS_DEFINITION

pytestmark = pytest.mark.django_db


# Sign-in -----------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_the_wizard_login(client, orders_instance):
    response = client.get(configure_url(orders_instance))
    assert response.status_code == 302
    assert response["Location"].startswith("/wizard/login/?next=/wizard/instances/")


def test_login_page_signs_a_customer_user_in_and_lists_its_instances(
    client, user_a, orders_instance
):
    response = client.post(
        "/wizard/login/", {"username": "alice", "password": "alice-pass"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/wizard/"
    assert "Webshop orders" in response.content.decode()


def test_wrong_password_is_refused_in_words(client, user_a):
    response = client.post("/wizard/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()


# Isolation ---------------------------------------------------------------------------


def test_instance_list_shows_only_the_users_customer(
    client, user_a, user_b, orders_integration, orders_instance, customer_b
):
    instance_create(
        integration=orders_integration,
        customer=customer_b,
        name="Globex orders",
        config_values={"Shop Secret": "x"},
    )
    client.force_login(user_a)
    page = client.get("/wizard/").content.decode()
    assert "Webshop orders" in page
    assert "Globex orders" not in page


def test_staff_see_every_customers_instances(
    client, staff_user, orders_integration, orders_instance, customer_b
):
    instance_create(
        integration=orders_integration,
        customer=customer_b,
        name="Globex orders",
        config_values={"Shop Secret": "x"},
    )
    client.force_login(staff_user)
    page = client.get("/wizard/").content.decode()
    assert "Webshop orders" in page
    assert "Globex orders" in page


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("get", "webui:instance"),
        ("get", "webui:configure"),
        ("post", "webui:configure"),
        ("get", "webui:history"),
        ("post", "webui:keys"),
        ("post", "webui:deploy"),
        ("post", "webui:pause"),
        ("post", "webui:enable"),
    ],
)
def test_another_customers_instance_pages_are_404(client, user_b, orders_instance, method, name):
    client.force_login(user_b)
    url = reverse(name, kwargs={"instance_id": orders_instance.pk})
    data = wizard_post() if name == "webui:configure" else {"flow": "Order Created"}
    response = getattr(client, method)(url, data) if method == "post" else client.get(url)
    assert response.status_code == 404
    orders_instance.refresh_from_db()
    assert orders_instance.deployed_at is None
    assert orders_instance.name == "Webshop orders"


def test_another_customers_execution_and_its_replay_are_404(
    client, user_b, make_instance, orders_integration
):
    instance = make_instance(orders_integration, config_values={"Shop Secret": SECRET})
    execution = execution_create(
        instance=instance,
        flow=instance.integration.flows.get(name="Order Created"),
        trigger_kind="webhook",
        payload={"body": {"data": {"id": 1}}},
        enqueue=False,
    )
    client.force_login(user_b)
    assert client.get(reverse("webui:execution", args=[execution.pk])).status_code == 404
    assert client.post(reverse("webui:replay", args=[execution.pk])).status_code == 404
    assert Execution.objects.count() == 1


def test_a_customer_user_cannot_start_an_instance_of_an_integration_it_does_not_run(
    client, user_b, orders_instance, orders_integration
):
    client.force_login(user_b)
    assert "Order Sync" not in client.get("/wizard/instances/new/").content.decode()
    url = reverse("webui:new-configure", args=[orders_integration.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, wizard_post(cv5_value="s")).status_code == 404


# Schedule preview --------------------------------------------------------------------


def test_schedule_preview_uses_the_schedule_code(client, user_a):
    client.force_login(user_a)
    with time_machine.travel("2026-03-06 12:00:00+00:00", tick=False):
        data = client.get(
            reverse("webui:schedule-preview"),
            {"type": "custom", "cron": "30 2 * * *", "zone": "America/Chicago"},
        ).json()
    assert data["ok"] is True
    assert data["description"] == "Every day at 02:30 (America/Chicago)"
    # 2026-03-08 02:30 does not exist in Chicago: the run moves to 03:00 CDT (DST rule).
    assert [run["display"] for run in data["nextRuns"]] == [
        "Sat 7 Mar 2026, 02:30 CST",
        "Sun 8 Mar 2026, 03:00 CDT",
        "Mon 9 Mar 2026, 02:30 CDT",
        "Tue 10 Mar 2026, 02:30 CDT",
        "Wed 11 Mar 2026, 02:30 CDT",
    ]


def test_schedule_preview_names_the_field_at_fault(client, user_a):
    client.force_login(user_a)
    url = reverse("webui:schedule-preview")
    data = client.get(url, {"type": "custom", "cron": "* * *", "zone": "UTC"}).json()
    assert data["ok"] is False and "five are needed" in data["errors"]["cron"]
    data = client.get(url, {"type": "day", "time": "25:00", "every": "1", "zone": "UTC"}).json()
    assert "time" in data["errors"]
    data = client.get(url, {"type": "minute", "every": "5", "zone": "Nowhere"}).json()
    assert "Unknown time zone" in data["errors"]["zone"]


def test_schedule_preview_needs_a_signed_in_user(client):
    assert client.get(reverse("webui:schedule-preview")).status_code == 302


def test_definition_fixture_covers_every_config_variable_type():
    types = {variable["type"] for variable in ORDERS_DEFINITION["configVariables"]}
    assert types == {"string", "picklist", "number", "boolean", "json", "secret", "schedule"}
