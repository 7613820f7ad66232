"""The endpoint activity view counts every answered request of a known token, whatever
its status: refusals before the token's flow is even looked at (413, 405) included."""

from __future__ import annotations

import pytest

from instances.models import Endpoint
from tests.fixtures.domain import definition
from triggers.models import EndpointActivity
from triggers.webhooks.activity import endpoint_activity_summary, recorder

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(make_integration, make_instance) -> str:
    return Endpoint.objects.get(instance=make_instance(make_integration())).token


def test_every_answer_to_a_known_token_is_counted(client, settings, token):
    settings.TRIGGERFISH_MAX_BODY_BYTES = 16
    url = f"/trigger/{token}"
    answers = [
        client.post(url, b"{}", content_type="application/json").status_code,
        client.post(url, b"x" * 17, content_type="text/plain").status_code,
        client.generic("TRACE", url).status_code,
        client.head(url).status_code,
        client.options(url).status_code,
        client.post(url, b"{", content_type="application/json").status_code,
        client.get(f"{url}?{'&'.join(['p'] * 1001)}").status_code,
    ]
    assert answers == [200, 413, 405, 200, 204, 400, 400]
    recorder.flush()
    summary = endpoint_activity_summary(token=token)
    assert summary["requests"] == len(answers)
    assert (summary["status_2xx"], summary["status_4xx"]) == (3, 4)


def test_unknown_and_malformed_tokens_are_not_counted(client, settings):
    settings.TRIGGERFISH_MAX_BODY_BYTES = 16
    for path in ("z" * 32, "z" * 32 + "%00"):
        client.post(f"/trigger/{path}", b"x" * 17, content_type="text/plain")
        client.generic("TRACE", f"/trigger/{path}")
    recorder.flush()
    assert not EndpointActivity.objects.filter(endpoint_token__startswith="z" * 32).exists()


def test_refused_api_keys_are_counted_as_401s(client, make_integration, make_instance):
    # The endpoint.rejected alert reads this count (docs/alerts.md).
    spec = definition()
    spec["flows"][0]["trigger"]["endpointSecurity"] = "customer_required"
    instance = make_instance(make_integration(spec))
    url = f"/trigger/{Endpoint.objects.get(instance=instance).token}"
    answers = [
        client.post(url, b"{}", content_type="application/json").status_code for _ in range(3)
    ]
    assert answers == [401, 401, 401]
    recorder.flush()
    [row] = EndpointActivity.objects.filter(endpoint_token=url.rsplit("/", 1)[1])
    assert (row.status_401, row.status_4xx, row.status_429) == (3, 3, 0)
