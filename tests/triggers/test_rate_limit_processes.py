"""The rate limit holds across processes: four gunicorn workers share one count."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis

from instances.models import Endpoint
from tests.fixtures.domain import definition
from tests.fixtures.services import services

BURST = 200
LIMIT = 50


def _burst(url: str) -> tuple[list[int], float]:
    started = time.monotonic()
    with httpx.Client(timeout=10.0, limits=httpx.Limits(max_connections=32)) as client:
        with ThreadPoolExecutor(max_workers=32) as pool:
            statuses = list(pool.map(lambda _: client.post(url).status_code, range(BURST)))
    return statuses, time.monotonic() - started


def _check(statuses: list[int], duration: float) -> None:
    accepted = statuses.count(200)
    assert set(statuses) <= {200, 429}
    if duration < 1.0:
        assert accepted == LIMIT
    else:
        # A slow machine spreads the burst over several windows: still at most LIMIT in
        # each one-second window the burst touched.
        windows = int(duration) + 1
        assert LIMIT <= accepted <= LIMIT * windows


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("backend", ["file", pytest.param("redis", marks=services)])
def test_four_processes_accept_exactly_the_limit(
    request, backend, make_integration, make_instance, start_live_server
):
    env = {"TRIGGERFISH_RATE_LIMIT_PER_SECOND": str(LIMIT), "REDIS_URL": ""}
    if backend == "redis":
        url = request.getfixturevalue("require_redis")
        redis.Redis.from_url(url).flushdb()
        env["REDIS_URL"] = url
    spec = definition(name=f"Burst {backend}")
    spec["flows"].append({**spec["flows"][0], "name": "Second"})
    instance = make_instance(make_integration(spec))
    tokens = dict(Endpoint.objects.filter(instance=instance).values_list("flow_name", "token"))
    server = start_live_server(workers=4, env=env)

    statuses, duration = _burst(f"{server.url}/trigger/{tokens['Echo']}")
    _check(statuses, duration)
    # The other endpoint's window is its own.
    assert httpx.post(f"{server.url}/trigger/{tokens['Second']}").status_code == 200
