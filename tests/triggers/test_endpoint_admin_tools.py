"""The admin's "Test this flow" page and the per-endpoint activity view."""

from __future__ import annotations

import pytest
from django.urls import reverse

from executions.models import Execution
from instances.models import Endpoint
from tests.fixtures.domain import definition
from triggers.models import EndpointActivity
from triggers.webhooks.activity import LATENCY_BUCKETS_MS, endpoint_activity_summary, recorder

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(make_integration, make_instance):
    spec = definition()
    spec["flows"][0]["trigger"]["endpointSecurity"] = "customer_required"
    instance = make_instance(make_integration(spec))
    return Endpoint.objects.get(instance=instance)


def test_test_this_flow_sends_through_the_real_endpoint(client, staff_user, endpoint):
    client.force_login(staff_user)
    url = reverse("admin:triggers_endpoint_test", args=[endpoint.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "method": "POST",
            "content_type": "application/json",
            "headers": '{"x-note": "from the admin"}',
            "body": '{"order": 7}',
            "path_fragment": "a/b",
        },
    )
    assert response.status_code == 200
    result = response.context["result"]
    assert result["status"] == 200  # the flow's generated key was sent for us
    execution = Execution.objects.get(trigger_kind="webhook")
    assert result["execution_url"] == reverse(
        "admin:executions_execution_change", args=[execution.pk]
    )
    payload = execution.trigger_payload
    assert payload["body"]["data"] == {"order": 7}
    assert payload["headers"]["x-note"] == "from the admin"
    assert payload["pathFragment"] == "a/b"


def test_test_page_shows_refusals_and_form_errors(client, staff_user, endpoint):
    client.force_login(staff_user)
    url = reverse("admin:triggers_endpoint_test", args=[endpoint.pk])
    refused = client.post(
        url,
        {
            "method": "POST",
            "content_type": "application/json",
            "headers": '{"Api-Key": "wrong"}',
            "body": "{}",
        },
    )
    assert refused.context["result"]["status"] == 401
    bad = client.post(url, {"method": "POST", "content_type": "x", "headers": "[1]", "body": ""})
    assert "headers" in bad.context["form"].errors


def test_customer_users_cannot_reach_the_tools(client, user_a, endpoint):
    client.force_login(user_a)
    for name in ("admin:triggers_endpoint_test", "admin:triggers_endpoint_activity"):
        response = client.get(reverse(name, args=[endpoint.pk]))
        assert response.status_code == 302


def test_activity_counts_requests_by_answer(client, staff_user, endpoint):
    url = f"/trigger/{endpoint.token}"
    key = endpoint.instance.api_keys.get().key
    for _ in range(3):
        assert client.post(url, headers={"Api-Key": key}).status_code == 200
    assert client.post(url).status_code == 401
    assert client.post("/trigger/" + "z" * 32).status_code == 404  # unknown: not recorded
    client.force_login(staff_user)
    page = client.get(reverse("admin:triggers_endpoint_activity", args=[endpoint.pk]))
    summary = page.context["summary"]
    assert (summary["requests"], summary["status_2xx"], summary["status_4xx"]) == (4, 3, 1)
    assert summary["p50_ms"] in LATENCY_BUCKETS_MS
    assert not EndpointActivity.objects.filter(endpoint_token="z" * 32).exists()
    assert "<svg" in page.content.decode()


def test_batches_from_several_processes_add_up(endpoint):
    recorder.record(endpoint.token, 200, 3.0)
    recorder.record(endpoint.token, 429, 40.0)
    recorder.flush()
    recorder.record(endpoint.token, 200, 900.0)
    recorder.flush()  # a second batch for the same minute is added, not overwritten
    summary = endpoint_activity_summary(token=endpoint.token)
    assert (summary["requests"], summary["status_2xx"], summary["status_429"]) == (3, 2, 1)
    assert summary["p50_ms"] == 50  # 3 ms, 40 ms, 900 ms → the median's bucket is ≤ 50 ms
    assert summary["p99_ms"] == 1000
