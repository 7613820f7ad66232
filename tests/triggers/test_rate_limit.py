"""The per-endpoint rate limit: exact count in a sliding one-second window, per token."""

from __future__ import annotations

import pytest
import redis
import time_machine

from instances.models import Endpoint
from tests.fixtures.domain import definition
from tests.fixtures.services import services
from triggers.webhooks.ratelimit import rate_limit_hit

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["file", pytest.param("redis", marks=services)])
def limiter_backend(request, settings, tmp_path):
    """Run each test against the embedded limiter and against Redis."""
    settings.TRIGGERFISH_DATA_DIR = tmp_path
    if request.param == "redis":
        url = request.getfixturevalue("require_redis")
        redis.Redis.from_url(url).flushdb()
        settings.REDIS_URL = url
    else:
        settings.REDIS_URL = ""
    return request.param


def _urls(make_integration, make_instance, rate: int | None = None):
    spec = definition(name="Limited")
    spec["flows"].append({**spec["flows"][0], "name": "Second"})
    if rate is not None:
        spec["rateLimitPerSecond"] = rate
    instance = make_instance(make_integration(spec))
    return {e.flow_name: f"/trigger/{e.token}" for e in Endpoint.objects.filter(instance=instance)}


def test_the_51st_request_in_a_second_is_429(
    client, make_integration, make_instance, limiter_backend
):
    urls = _urls(make_integration, make_instance)
    with time_machine.travel("2026-11-29 12:00:00", tick=False):
        statuses = [client.post(urls["Echo"]).status_code for _ in range(55)]
        assert statuses.count(200) == 50
        assert statuses[50:] == [429] * 5
        rejected = client.post(urls["Echo"])
        token = urls["Echo"].rsplit("/", 1)[1]
        assert rejected.json() == {
            "error": f"Endpoint with id: {token} has exceeded maximum allowed throughput of 50 "
            "requests/second. Please throttle your requests."
        }
        assert rejected["Retry-After"] == "1"
        # another endpoint has its own window
        assert client.post(urls["Second"]).status_code == 200


def test_the_window_slides(client, make_integration, make_instance, limiter_backend):
    urls = _urls(make_integration, make_instance, rate=3)
    with time_machine.travel("2026-11-29 12:00:00.000", tick=False) as traveller:
        assert [client.post(urls["Echo"]).status_code for _ in range(4)] == [200, 200, 200, 429]
        traveller.shift(0.6)
        assert client.post(urls["Echo"]).status_code == 429
        traveller.shift(0.5)  # the first three are now older than one second
        assert [client.post(urls["Echo"]).status_code for _ in range(4)] == [200, 200, 200, 429]


def test_integration_setting_overrides_the_default(
    client, make_integration, make_instance, limiter_backend
):
    urls = _urls(make_integration, make_instance, rate=2)
    with time_machine.travel("2026-11-29 12:00:00", tick=False):
        statuses = [client.post(urls["Echo"]).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_unreachable_redis_fails_open_by_default(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    assert rate_limit_hit(token="t" * 32, limit=1).allowed


def test_unreachable_redis_fails_closed_when_configured(
    client, make_integration, make_instance, settings
):
    urls = _urls(make_integration, make_instance)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.TRIGGERFISH_RATE_LIMIT_FAIL_OPEN = False
    response = client.post(urls["Echo"])
    assert response.status_code == 503
    assert "rate limiter" in response.json()["error"]
