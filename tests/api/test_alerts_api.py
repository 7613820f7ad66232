"""Alert monitors and alert events over the API (SPEC §9)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from alerts.models import AlertChannel, AlertDelivery, AlertMonitor
from alerts.notices import alert_raise

pytestmark = pytest.mark.django_db

MONITORS = "/api/v1/alert-monitors/"
EVENTS = "/api/v1/alert-events/"


def monitor_body(world, **overrides):
    body = {
        "name": "Orders failing",
        "event": "execution.failed",
        "integration": str(world["integration"].pk),
        "customer": None,
        "instance": None,
        "flow": "Echo",
        "threshold": {},
        "channels": [
            {"type": "webhook", "url": "https://ops.example.com/hooks/tf"},
            {"type": "email", "to": ["ops@example.com"]},
        ],
        "cooldownSeconds": 120,
        "enabled": True,
    }
    body.update(overrides)
    return body


def create(staff_api, world, **overrides):
    response = staff_api.post(MONITORS, monitor_body(world, **overrides), format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_create_list_detail_patch_put_delete_round_trip(staff_api, world):
    created = create(staff_api, world)
    assert created["name"] == "Orders failing"
    assert created["flow"] == "Echo"
    assert created["cooldownSeconds"] == 120
    webhook, email = created["channels"]
    assert webhook["secret"].startswith("whsec_")
    assert email == {"type": "email", "to": ["ops@example.com"]}
    url = f"{MONITORS}{created['id']}"

    listed = staff_api.get(MONITORS).json()
    assert listed["count"] == 1
    assert set(listed) == {"count", "next", "previous", "results"}
    assert listed["results"][0]["id"] == created["id"]
    assert staff_api.get(url).json() == created

    patched = staff_api.patch(url, {"enabled": False, "threshold": {}}, format="json")
    assert patched.status_code == 200, patched.content
    assert patched.json()["enabled"] is False
    assert patched.json()["channels"] == created["channels"]  # untouched when not given
    assert patched.json()["name"] == "Orders failing"

    replaced = staff_api.put(
        url, {"name": "Slow runs", "event": "execution.duration_exceeded"}, format="json"
    )
    assert replaced.status_code == 200, replaced.content
    body = replaced.json()
    assert (body["name"], body["integration"], body["flow"], body["channels"]) == (
        "Slow runs",
        None,
        None,
        [],
    )
    assert (body["cooldownSeconds"], body["enabled"]) == (300, True)

    assert staff_api.delete(url).status_code == 204
    assert staff_api.get(url).status_code == 404
    assert not AlertMonitor.objects.exists()


def test_the_secret_signs_as_standard_webhooks_verify(staff_api, world):
    secret = create(staff_api, world)["channels"][0]["secret"]
    body = '{"id":"x"}'
    now = timezone.now()
    signature = Webhook(secret).sign("msg_1", now, body)
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    assert Webhook(secret).verify(body, headers) == {"id": "x"}


def test_replacing_channels_keeps_a_matched_webhooks_secret(staff_api, world):
    created = create(staff_api, world)
    url = f"{MONITORS}{created['id']}"
    secret = created["channels"][0]["secret"]
    channels = [
        {"type": "email", "to": ["oncall@example.com"]},
        {"type": "webhook", "url": "https://other.example.com/hook"},
        # The same URL as before, sent back with the secret it was read with.
        {"type": "webhook", "url": "https://ops.example.com/hooks/tf", "secret": "ignored"},
    ]
    answer = staff_api.patch(url, {"channels": channels}, format="json").json()
    assert [c["type"] for c in answer["channels"]] == ["email", "webhook", "webhook"]
    assert answer["channels"][2]["secret"] == secret
    assert answer["channels"][1]["secret"] not in (secret, "ignored")
    assert AlertChannel.objects.filter(monitor_id=created["id"]).count() == 3


def test_rotate_secret_gives_a_new_one(staff_api, world):
    created = create(staff_api, world)
    old = created["channels"][0]["secret"]
    url = f"{MONITORS}{created['id']}/channels/0/rotate-secret"
    rotated = staff_api.post(url)
    assert rotated.status_code == 200, rotated.content
    new = rotated.json()["secret"]
    assert new.startswith("whsec_") and new != old
    assert staff_api.get(f"{MONITORS}{created['id']}").json()["channels"][0]["secret"] == new

    email = staff_api.post(f"{MONITORS}{created['id']}/channels/1/rotate-secret")
    assert email.status_code == 400
    assert "position" in email.json()["fields"]
    assert staff_api.post(f"{MONITORS}{created['id']}/channels/7/rotate-secret").status_code == 404


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"event": "execution.exploded"}, "event"),
        ({"threshold": {"seconds": 0}}, "threshold.seconds"),
        ({"threshold": {"sceonds": 5}}, "threshold.sceonds"),
        ({"threshold": {"level": "info"}}, "threshold.level"),
        ({"integration": str(uuid.uuid4())}, "integration"),
        ({"customer": str(uuid.uuid4())}, "customer"),
        ({"instance": str(uuid.uuid4())}, "instance"),
        ({"flow": "No such flow"}, "flow"),
        ({"name": ""}, "name"),
        ({"name": "n" * 201}, "name"),
        ({"cooldownSeconds": -1}, "cooldownSeconds"),
        ({"cooldwonSeconds": 5}, "cooldwonSeconds"),
        ({"channels": [{"type": "sms", "to": ["+1"]}]}, "channels[0].type"),
        ({"channels": [{"type": "webhook", "url": "ftp://x.example.com/"}]}, "channels[0].url"),
        ({"channels": [{"type": "webhook"}]}, "channels[0].url"),
        ({"channels": [{"type": "email", "to": ["not-an-address"]}]}, "channels[0].to[0]"),
        ({"channels": [{"type": "email", "to": []}]}, "channels[0].to"),
        (
            {"channels": [{"type": "email", "to": [f"a{i}@example.com" for i in range(21)]}]},
            "channels[0].to",
        ),
        ({"channels": [{"type": "webhook", "url": "https://a.example.com/"}] * 11}, "channels"),
    ],
)
def test_invalid_monitors_are_refused_with_field_paths(staff_api, world, overrides, path):
    response = staff_api.post(MONITORS, monitor_body(world, **overrides), format="json")
    assert response.status_code == 400, response.content
    assert path in response.json()["fields"], response.json()
    assert not AlertMonitor.objects.exists()


def test_unknown_event_lists_the_event_types(staff_api, world):
    response = staff_api.post(MONITORS, monitor_body(world, event="nope"), format="json")
    assert "execution.failed" in response.json()["fields"]["event"]
    assert "log.level" in response.json()["fields"]["event"]


def test_an_instance_of_another_customer_is_refused(staff_api, world, customer_a):
    body = monitor_body(world, customer=str(customer_a.pk), instance=str(world["instance_b"].pk))
    response = staff_api.post(MONITORS, body, format="json")
    assert response.status_code == 400
    assert "instance" in response.json()["fields"]


def test_a_patch_is_checked_as_a_whole(staff_api, world):
    created = create(staff_api, world)
    url = f"{MONITORS}{created['id']}"
    body = {"event": "poll.failing", "threshold": {"level": "warn", "count": 0}}
    response = staff_api.patch(url, body, format="json")
    assert response.status_code == 400
    assert staff_api.patch(url, {"flow": "Missing"}, format="json").status_code == 400
    assert staff_api.get(url).json() == created


def raise_event(monitor, instance, execution=None, *, minutes_ago=0):
    event = alert_raise(
        monitor=monitor,
        instance=instance,
        flow_name="Echo",
        execution=execution,
        now=timezone.now() - timedelta(minutes=minutes_ago),
    )
    assert event is not None
    return event


@pytest.fixture
def events(staff_api, world):
    created = create(staff_api, world, cooldownSeconds=0)
    other = create(staff_api, world, name="Retries", event="execution.retry_pending")
    monitor = AlertMonitor.objects.get(pk=created["id"])
    retries = AlertMonitor.objects.get(pk=other["id"])
    old = raise_event(monitor, world["instance_a"], world["execution_a"], minutes_ago=5)
    new = raise_event(monitor, world["instance_b"], world["execution_b"], minutes_ago=1)
    retry = raise_event(retries, world["instance_a"], minutes_ago=3)
    delivery = AlertDelivery.objects.filter(event=old, channel_type="webhook").get()
    delivery.attempts = [
        {"at": timezone.now().isoformat(), "status": 500, "error": "Answered 500."}
    ]
    delivery.save()
    return {"monitor": monitor, "retries": retries, "old": old, "new": new, "retry": retry}


def test_events_are_listed_newest_first_with_deliveries(staff_api, world, events):
    listed = staff_api.get(EVENTS).json()
    assert listed["count"] == 3
    assert [e["id"] for e in listed["results"]] == [
        str(events["new"].pk),
        str(events["retry"].pk),
        str(events["old"].pk),
    ]
    old = listed["results"][2]
    assert old["type"] == "execution.failed"
    assert old["monitor"] == {"id": str(events["monitor"].pk), "name": "Orders failing"}
    assert old["instance"] == {"id": str(world["instance_a"].pk), "name": "A main"}
    assert old["flow"] == {"name": "Echo"}
    assert old["execution"]["id"] == str(world["execution_a"].pk)
    assert old["suppressed"] == 0
    webhook, email = old["deliveries"]
    assert webhook["channel"] == "webhook"
    assert webhook["target"] == "https://ops.example.com/hooks/tf"
    assert webhook["status"] == "pending"
    assert webhook["attempts"] == [
        {"at": webhook["attempts"][0]["at"], "status": 500, "error": "Answered 500."}
    ]
    assert webhook["nextAttemptAt"] is not None
    assert email["target"] == "ops@example.com"
    detail = staff_api.get(f"{EVENTS}{events['old'].pk}").json()
    assert detail == old


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("monitor={monitor}", ["new", "old"]),
        ("instance={instance_a}", ["retry", "old"]),
        ("type=execution.retry_pending", ["retry"]),
        ("type=execution.failed&instance={instance_b}", ["new"]),
    ],
)
def test_events_filters(staff_api, world, events, query, expected):
    query = query.format(monitor=events["monitor"].pk, **{k: v.pk for k, v in world.items()})
    listed = staff_api.get(f"{EVENTS}?{query}").json()
    assert [e["id"] for e in listed["results"]] == [str(events[name].pk) for name in expected]


@pytest.mark.parametrize(
    "query", ["type=execution.exploded", "monitor=abc", "instance=", "page=0", "monitr=x"]
)
def test_bad_event_filters_are_400(staff_api, query):
    assert staff_api.get(f"{EVENTS}?{query}").status_code == 400


def test_customer_users_get_404_on_every_alert_url(staff_api, api_a, world, events):
    monitor = events["monitor"].pk
    for method, url in [
        ("get", MONITORS),
        ("post", MONITORS),
        ("get", f"{MONITORS}{monitor}"),
        ("patch", f"{MONITORS}{monitor}"),
        ("put", f"{MONITORS}{monitor}"),
        ("delete", f"{MONITORS}{monitor}"),
        ("post", f"{MONITORS}{monitor}/channels/0/rotate-secret"),
        ("get", EVENTS),
        ("get", f"{EVENTS}?instance={world['instance_a'].pk}"),
        ("get", f"{EVENTS}{events['old'].pk}"),
    ]:
        data = monitor_body(world) if method != "get" else None
        response = getattr(api_a, method)(url, data, format="json")
        assert response.status_code == 404, (method, url, response.content)
        assert response.json() == {"error": "Not found."}
    assert AlertMonitor.objects.count() == 2
    assert staff_api.get(f"{MONITORS}{monitor}").status_code == 200


def test_no_token_is_401(client):
    assert client.get(MONITORS).status_code == 401
    assert client.get(EVENTS).status_code == 401
