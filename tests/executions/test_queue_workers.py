"""Queue modes end to end: webhooks in, two real worker processes competing for the runs,
a local HTTP sink recording what the flows sent (docs/reliability.md)."""

from __future__ import annotations

from typing import Any

import pytest

from executions.models import Execution
from instances.models import Endpoint
from tests.fixtures.domain import definition
from tests.fixtures.worker import wait_for_execution

pytestmark = pytest.mark.django_db(transaction=True)


def _queued_flow(sink_url: str, queue: dict[str, Any], sleep: float = 0) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [
        {
            "name": "Start",
            "action": "http.request",
            "inputs": {
                "method": "POST",
                "url": f"{sink_url}/start",
                "body": "{{ trigger.body.data }}",
            },
        }
    ]
    if sleep:
        steps.append({"name": "Work", "action": "flow.sleep", "inputs": {"seconds": sleep}})
    return definition(
        name=f"Queue {queue['type']}",
        flows=[{"name": "Sync", "trigger": {"type": "webhook"}, "queue": queue, "steps": steps}],
    )


def _post_all(client, url: str, count: int) -> list[str]:
    ids = []
    for n in range(count):
        response = client.post(url, {"n": n}, content_type="application/json")
        assert response.status_code == 200, response.content
        ids.append(response.json()["executionId"])
    return ids


def _max_overlap(executions: list[Execution]) -> int:
    """Most runs at once, from the recorded start and end times."""
    events = []
    for execution in executions:
        events.append((execution.started_at, 1))
        events.append((execution.ended_at, -1))
    # An end and a start at the same instant do not overlap: ends first.
    events.sort(key=lambda event: (event[0], event[1]))
    running = peak = 0
    for _, change in events:
        running += change
        peak = max(peak, running)
    return peak


def _run(client, make_integration, make_instance, spec, count: int) -> list[Execution]:
    instance = make_instance(make_integration(spec))
    token = Endpoint.objects.get(instance=instance).token
    ids = _post_all(client, f"/trigger/{token}", count)
    return [wait_for_execution(execution_id, timeout=60) for execution_id in ids]


def test_sequential_flow_delivers_fifty_requests_in_arrival_order(
    client, make_integration, make_instance, http_peer, celery_worker_process, second_worker_process
):
    executions = _run(
        client,
        make_integration,
        make_instance,
        _queued_flow(http_peer.base_url, {"type": "sequential"}),
        50,
    )
    assert {e.status for e in executions} == {"succeeded"}, [e.error for e in executions]
    assert [request.json()["n"] for request in http_peer.requests] == list(range(50))
    assert _max_overlap(executions) == 1


def test_throttled_flow_never_runs_more_than_its_limit(
    client, make_integration, make_instance, http_peer, celery_worker_process, second_worker_process
):
    # Four worker threads in all, so only the queue can hold the count at three.
    spec = _queued_flow(http_peer.base_url, {"type": "throttled", "concurrencyLimit": 3}, 0.3)
    executions = _run(client, make_integration, make_instance, spec, 12)
    assert {e.status for e in executions} == {"succeeded"}
    assert _max_overlap(executions) == 3
    assert sorted(request.json()["n"] for request in http_peer.requests) == list(range(12))


def test_parallel_flow_runs_overlap(
    client, make_integration, make_instance, http_peer, celery_worker_process, second_worker_process
):
    spec = _queued_flow(http_peer.base_url, {"type": "parallel"}, 0.4)
    executions = _run(client, make_integration, make_instance, spec, 8)
    assert {e.status for e in executions} == {"succeeded"}
    # Two processes with two threads each: more at once than a throttle of 3 would allow.
    assert _max_overlap(executions) == 4
