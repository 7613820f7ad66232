"""Where a polling flow stands, as the surfaces show it (SPEC §8): the API's instance detail
gains ``poll`` on polling flows, and the admin's instance page shows it and resets the
cursor."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.fixtures.api import api_client_for
from tests.fixtures.polling import FLOW, Poller, orders_definition

pytestmark = pytest.mark.django_db


@pytest.fixture
def polled(item_source, make_integration, make_instance):
    definition = orders_definition(item_source.url("/orders"))
    definition["flows"].append({"name": "Hook", "trigger": {"type": "webhook"}, "steps": []})
    poller = Poller(make_instance(make_integration(definition)))
    item_source.add(2)
    poller.fire()
    return poller


def test_the_instance_detail_shows_the_poll_state_of_polling_flows(polled, staff_user):
    response = api_client_for(staff_user).get(f"/api/v1/instances/{polled.instance.pk}")
    assert response.status_code == 200
    flows = {flow["name"]: flow for flow in response.json()["flows"]}
    state = polled.state()
    assert flows[FLOW]["poll"] == {
        "cursor": 2,
        "lastPolledAt": state.last_polled_at.isoformat(),
        "lastItemCount": 2,
        "consecutiveFailures": 0,
        "backoffUntil": None,
    }
    assert flows[FLOW]["webhookUrl"] is None
    assert flows[FLOW]["schedule"] == {"every": 5, "unit": "minutes"}
    assert "poll" not in flows["Hook"] and flows["Hook"]["webhookUrl"]


def test_a_polling_flow_that_has_not_polled_shows_an_empty_state(
    item_source, make_integration, make_instance, staff_user
):
    instance = make_instance(make_integration(orders_definition(item_source.url("/orders"))))
    (flow,) = api_client_for(staff_user).get(f"/api/v1/instances/{instance.pk}").json()["flows"]
    assert flow["poll"] == {
        "cursor": None,
        "lastPolledAt": None,
        "lastItemCount": None,
        "consecutiveFailures": 0,
        "backoffUntil": None,
    }


def test_another_tenant_sees_no_poll_state(polled, user_b):
    response = api_client_for(user_b).get(f"/api/v1/instances/{polled.instance.pk}")
    assert response.status_code == 404


def test_the_admin_page_shows_the_poll_and_resets_its_cursor(
    polled, item_source, client, staff_user
):
    client.force_login(staff_user)
    page = reverse("admin:instances_instance_change", args=[polled.instance.pk])
    html = client.get(page).content.decode()
    assert "Polling" in html and "Items in the last poll" in html
    assert "Reset cursor" in html and "<code>2</code>" in html
    reset = reverse("admin:instances_instance_poll_cursor_reset", args=[polled.instance.pk])
    assert client.get(reset).status_code == 405
    response = client.post(reset, {"flow": FLOW}, follow=True)
    assert "Reset the cursor of &#x27;New Orders&#x27;" in response.content.decode()
    assert polled.state().cursor is None
    # The next poll asks from the start; the items it has seen start nothing again.
    item_source.add(1)
    polled.fire()
    assert item_source.requests[-1].get("since") is None
    assert polled.state().cursor == 3
    assert [e.trigger_payload["body"]["data"]["id"] for e in polled.executions()] == ["o3"]


def test_resetting_a_flow_that_never_polled_says_so(polled, client, staff_user):
    client.force_login(staff_user)
    reset = reverse("admin:instances_instance_poll_cursor_reset", args=[polled.instance.pk])
    response = client.post(reset, {"flow": "Hook"}, follow=True)
    assert "&#x27;Hook&#x27; has not polled yet." in response.content.decode()
