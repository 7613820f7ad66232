"""Alert monitors in the admin: the add form prefilled from an instance or integration
page, channels inline with the webhook secret and Rotate, the monitor's recent events,
the events list read only; errors land on fields, never a 500."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts.models import AlertChannel, AlertDelivery, AlertEvent, AlertMonitor
from alerts.notices import alert_raise

pytestmark = pytest.mark.django_db

ADD = "admin:alerts_alertmonitor_add"


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def instance(make_integration, make_instance):
    return make_instance(make_integration(), name="Shop")


def _post_data(instance, **overrides):
    data = {
        "name": "Shop failing",
        "event": "execution.failed",
        "integration": str(instance.integration_id),
        "customer": str(instance.customer_id),
        "instance": str(instance.pk),
        "flow_name": "Echo",
        "threshold": "{}",
        "cooldown_seconds": "300",
        "enabled": "on",
        "channels-TOTAL_FORMS": "2",
        "channels-INITIAL_FORMS": "0",
        "channels-MIN_NUM_FORMS": "0",
        "channels-MAX_NUM_FORMS": "10",
        "channels-0-position": "0",
        "channels-0-type": "webhook",
        "channels-0-url": "https://ops.example.com/hook",
        "channels-0-to": "",
        "channels-1-position": "1",
        "channels-1-type": "email",
        "channels-1-url": "",
        "channels-1-to": "ops@example.com, oncall@example.com",
    }
    data.update(overrides)
    return data


def _monitor(instance) -> AlertMonitor:
    monitor = AlertMonitor.objects.create(
        name="Shop failing", event="execution.failed", instance=instance, cooldown_seconds=0
    )
    AlertChannel.objects.create(monitor=monitor, type="webhook", url="https://ops.example.com/h")
    AlertChannel.objects.create(monitor=monitor, type="email", to=["ops@example.com"])
    return monitor


def test_instance_page_links_to_a_prefilled_add_form(staff_client, instance):
    page = staff_client.get(reverse("admin:instances_instance_change", args=[instance.pk]))
    html = page.content.decode()
    assert "Add alert monitor" in html
    add = staff_client.get(reverse(ADD), {"instance": instance.pk, "flow_name": "Echo"})
    form = add.context["adminform"].form
    assert str(form.initial["instance"]) == str(instance.pk)
    assert form.initial["flow_name"] == "Echo"
    # The per-flow link carries the whole scope.
    start = html.index('data-flow="Echo"')
    href = html[
        html.rindex('href="', 0, start) + 6 : html.index('"', html.rindex('href="', 0, start) + 6)
    ]
    query = parse_qs(urlsplit(href.replace("&amp;", "&")).query)
    assert query["instance"] == [str(instance.pk)]
    assert query["customer"] == [str(instance.customer_id)]
    assert query["integration"] == [str(instance.integration_id)]
    assert query["flow_name"] == ["Echo"]


def test_integration_page_links_to_the_add_form(staff_client, instance):
    page = staff_client.get(
        reverse("admin:integrations_integration_change", args=[instance.integration_id])
    )
    assert f"{reverse(ADD)}?integration={instance.integration_id}" in page.content.decode()


def test_a_monitor_is_added_with_its_channels(staff_client, instance):
    response = staff_client.post(reverse(ADD), _post_data(instance))
    assert response.status_code == 302, response.context["adminform"].form.errors
    monitor = AlertMonitor.objects.get()
    assert (monitor.instance, monitor.flow_name) == (instance, "Echo")
    webhook, email = monitor.channels.all()
    assert webhook.secret.startswith("whsec_")
    assert email.to == ["ops@example.com", "oncall@example.com"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"flow_name": "Nope"}, "No flow of this name"),
        ({"threshold": '{"count": 0}'}, "threshold.count"),
        ({"channels-0-url": "ftp://ops.example.com/"}, "http or https"),
        ({"channels-1-to": "not an address"}, "Not an email address"),
    ],
)
def test_invalid_monitors_show_errors_on_the_page(staff_client, instance, overrides, message):
    response = staff_client.post(reverse(ADD), _post_data(instance, **overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not AlertMonitor.objects.exists()


def test_change_page_shows_secret_rotate_and_recent_events(staff_client, instance):
    monitor = _monitor(instance)
    event = alert_raise(monitor=monitor, instance=instance, flow_name="Echo")
    assert event is not None
    delivery = AlertDelivery.objects.get(event=event, channel_type="webhook")
    delivery.attempts = [
        {"at": timezone.now().isoformat(), "status": 503, "error": "Answered 503."}
    ]
    delivery.save()
    url = reverse("admin:alerts_alertmonitor_change", args=[monitor.pk])
    html = staff_client.get(url).content.decode()
    webhook = monitor.channels.get(type="webhook")
    assert webhook.secret in html
    assert "Rotate secret" in html
    assert "execution.failed" in html and "Answered 503." in html and "Shop" in html

    rotate = reverse("admin:alerts_alertmonitor_rotate_secret", args=[monitor.pk, 0])
    assert staff_client.get(rotate).status_code == 405
    assert staff_client.post(rotate).status_code == 302
    webhook_after = AlertChannel.objects.get(pk=webhook.pk)
    assert webhook_after.secret.startswith("whsec_") and webhook_after.secret != webhook.secret
    staff_client.post(reverse("admin:alerts_alertmonitor_rotate_secret", args=[monitor.pk, 1]))
    assert (
        AlertChannel.objects.get(type="email").secret == monitor.channels.get(type="email").secret
    )


def test_events_list_is_read_only_and_filters(staff_client, instance):
    monitor = _monitor(instance)
    alert_raise(monitor=monitor, instance=instance, flow_name="Echo")
    listing = staff_client.get(
        reverse("admin:alerts_alertevent_changelist"), {"type": "execution.failed"}
    )
    assert listing.status_code == 200
    assert "execution.failed" in listing.content.decode()
    event = AlertEvent.objects.get()
    page = staff_client.get(reverse("admin:alerts_alertevent_change", args=[event.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert staff_client.get(reverse("admin:alerts_alertevent_add")).status_code == 403
