"""Faults, for real: a worker killed mid-step, the broker stopped while webhooks arrive, the
database cut from under a web server, Redis stopped under the rate limiter. Each asserts
on the execution rows and on what a local HTTP sink received: nothing accepted is lost,
nothing runs to completion twice (docs/reliability.md)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.db import connection

from executions.models import Execution
from executions.recovery import executions_fail_lost
from executions.runner import execution_run
from executions.services import execution_create
from executions.tasks import run_execution
from instances.models import Endpoint
from tests.fixtures.domain import definition
from tests.fixtures.live_server import free_port
from tests.fixtures.services import service_unavailable
from tests.fixtures.worker import database_url, wait_for_execution, worker_start

pytestmark = pytest.mark.django_db(transaction=True)


def wait_until(condition: Callable[[], Any], *, timeout: float, what: str) -> Any:
    """Poll a condition in another process (which offers no callback) up to a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class RedisServer:
    """A redis-server of the test's own on a spare port, to stop and start at will."""

    def __init__(self) -> None:
        if shutil.which("redis-server") is None:
            service_unavailable("redis-server is not installed")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, timeout=10, what="redis-server to start")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as probe:
                probe.sendall(b"PING\r\n")
                return probe.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _instance_url(make_integration, make_instance, spec) -> tuple[Any, str]:
    instance = make_instance(make_integration(spec))
    return instance, f"/trigger/{Endpoint.objects.get(instance=instance).token}"


def _sink_flow(sink_url: str, **flow: Any) -> dict[str, Any]:
    steps = [
        {
            "name": "Deliver",
            "action": "http.request",
            "inputs": {
                "method": "POST",
                "url": f"{sink_url}/got",
                "body": "{{ trigger.body.data }}",
            },
        }
    ]
    return definition(
        name="Sink",
        flows=[{"name": "Deliver", "trigger": {"type": "webhook"}, "steps": steps, **flow}],
    )


def _delivered(http_peer, path: str = "/got") -> list[Any]:
    return [request.json()["n"] for request in http_peer.requests if request.path == path]


def test_a_worker_killed_mid_step_is_failed_with_the_reason_and_its_retry_completes_once(
    settings,
    make_integration,
    make_instance,
    http_peer,
    celery_worker_process,
    celery_session_queue,
    django_db_blocker,
):
    http_peer.respond("/plan", json={"seconds": 60})
    steps = [
        {"name": "Plan", "action": "http.request", "inputs": {"url": http_peer.url("/plan")}},
        {
            "name": "Before",
            "action": "http.request",
            "inputs": {"method": "POST", "url": http_peer.url("/before"), "body": {"n": 1}},
        },
        {
            "name": "Work",
            "action": "flow.sleep",
            "inputs": {"seconds": "{{ steps.Plan.data.seconds }}"},
        },
        {
            "name": "After",
            "action": "http.request",
            "inputs": {"method": "POST", "url": http_peer.url("/after"), "body": {"n": 1}},
        },
    ]
    spec = definition(
        name="Killed",
        flows=[
            {
                "name": "Long",
                "trigger": {"type": "webhook"},
                "retry": {"maxAttempts": 1, "delaySeconds": 0},
                "steps": steps,
            }
        ],
    )
    instance = make_instance(make_integration(spec))
    flow = instance.integration.flows.get()
    doomed_queue = f"{celery_session_queue}-doomed"
    doomed = worker_start(
        queue=doomed_queue,
        name=doomed_queue,
        send_to=celery_session_queue,
        env={"TRIGGERFISH_HEARTBEAT_SECONDS": "0.3"},
    )
    try:
        first = execution_create(
            instance=instance, flow=flow, trigger_kind="webhook", payload={}, enqueue=False
        )
        run_execution.apply_async(args=[str(first.id)], queue=doomed_queue)
        wait_until(lambda: _delivered(http_peer, "/before"), timeout=20, what="the first step")
        wait_until(
            lambda: Execution.objects.filter(pk=first.pk, heartbeat_at__isnull=False).exists(),
            timeout=5,
            what="a heartbeat",
        )
        os.kill(doomed.process.pid, signal.SIGKILL)  # mid flow.sleep, no warm shutdown
        doomed.process.wait(timeout=10)
    finally:
        doomed.stop()
    http_peer.respond("/plan", json={"seconds": 0})
    settings.TRIGGERFISH_LOST_HEARTBEAT_SECONDS = 2
    assert Execution.objects.get(pk=first.pk).status == "running"
    wait_until(executions_fail_lost, timeout=15, what="the sweep to find the lost run")
    first.refresh_from_db()
    assert first.status == "failed"
    assert first.error.startswith("Worker lost while running: no heartbeat since")
    retry = wait_for_execution(Execution.objects.get(retry_of=first).id, timeout=30)
    assert (retry.status, retry.attempt) == ("succeeded", 2), retry.error
    # A late redelivery of the killed run's message (late acks) is refused by the claim.
    execution_run(execution_id=str(first.id))
    assert _delivered(http_peer, "/before") == [1, 1]  # once per attempt
    assert _delivered(http_peer, "/after") == [1]  # completed exactly once
    assert Execution.objects.filter(instance=instance).count() == 2


def test_webhooks_accepted_while_the_broker_is_down_run_once_it_is_back(
    make_integration,
    make_instance,
    http_peer,
    start_live_server,
    own_redis,
    celery_session_queue,
    django_db_blocker,
):
    _, path = _instance_url(make_integration, make_instance, _sink_flow(http_peer.base_url))
    server = start_live_server(
        workers=1,
        env={"CELERY_BROKER_URL": own_redis.url, "CELERY_TASK_DEFAULT_QUEUE": celery_session_queue},
    )
    own_redis.stop()
    accepted = []
    for n in range(5):
        response = httpx.post(f"{server.url}{path}", json={"n": n}, timeout=30)
        assert response.status_code == 200, response.text
        accepted.append(response.json()["executionId"])
    # Answered 200 only with the row committed: every id is in the database, waiting.
    assert set(Execution.objects.filter(pk__in=accepted).values_list("status", flat=True)) == {
        "queued"
    }
    assert http_peer.requests == []
    own_redis.start()
    # A worker coming up on the restored broker runs the recovery sweep at start.
    back = worker_start(
        queue=f"{celery_session_queue}-back",
        name=f"{celery_session_queue}-back",
        env={"CELERY_BROKER_URL": own_redis.url, "TRIGGERFISH_REQUEUE_AFTER_SECONDS": "1"},
    )
    try:
        executions = [wait_for_execution(execution_id, timeout=30) for execution_id in accepted]
    finally:
        back.stop()
    assert {execution.status for execution in executions} == {"succeeded"}
    assert sorted(_delivered(http_peer)) == list(range(5))  # each once


class TcpProxy:
    """A TCP forwarder to PostgreSQL that can be cut (listener and live connections closed)
    and restored on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        if self._listener is not None:
            # shutdown() first: close() alone does not wake a thread blocked in accept().
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        for sock in self._sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            except OSError:
                pass
        self._sockets = []


@pytest.fixture
def cuttable_database(tmp_path, django_db_blocker) -> Iterator[tuple[str, Callable, Callable]]:
    """A DATABASE_URL for a web server naming the test database through something the test
    can cut: a TCP proxy to PostgreSQL, or a symlink to the SQLite file."""
    settings_dict = connection.settings_dict
    if connection.vendor == "postgresql":
        proxy = TcpProxy(
            (settings_dict.get("HOST") or "127.0.0.1", int(settings_dict.get("PORT") or 5432))
        )
        proxy.start()
        url = database_url({**settings_dict, "HOST": "127.0.0.1", "PORT": proxy.port})
        yield url, proxy.cut, proxy.start
        proxy.cut()
        return
    real = Path(settings_dict["NAME"]).resolve()
    link = tmp_path / "cut.sqlite3"
    link.symlink_to(real)
    gone = tmp_path / "gone"

    def cut() -> None:
        # The path now leads to a directory that does not exist: "unable to open database".
        swap = tmp_path / "swap"
        swap.symlink_to(gone / "db.sqlite3")
        os.replace(swap, link)

    def restore() -> None:
        swap = tmp_path / "swap"
        swap.symlink_to(real)
        os.replace(swap, link)

    yield f"sqlite:///{link}", cut, restore


def test_database_unreachable_is_503_and_nothing_is_acknowledged_unstored(
    make_integration, make_instance, start_live_server, cuttable_database, celery_session_queue
):
    instance, path = _instance_url(
        make_integration, make_instance, _sink_flow("http://127.0.0.1:9")
    )
    url, cut, restore = cuttable_database
    server = start_live_server(
        workers=1, env={"DATABASE_URL": url, "CELERY_TASK_DEFAULT_QUEUE": celery_session_queue}
    )
    before = httpx.post(f"{server.url}{path}", json={"n": 0}, timeout=30)
    assert before.status_code == 200, before.text
    cut()
    during = [httpx.post(f"{server.url}{path}", json={"n": n}, timeout=30) for n in (1, 2)]
    restore()
    after = httpx.post(f"{server.url}{path}", json={"n": 3}, timeout=30)
    for response in during:
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/json"
        assert "executionId" not in response.json()
        assert "triggerfish-executionid" not in response.headers
    assert after.status_code == 200, after.text
    stored = set(Execution.objects.filter(instance=instance).values_list("id", flat=True))
    assert {str(i) for i in stored} == {before.json()["executionId"], after.json()["executionId"]}


def test_redis_stopped_under_the_rate_limiter_fails_open_or_closed_as_configured(
    client, settings, make_integration, make_instance, own_redis
):
    instance, path = _instance_url(make_integration, make_instance, definition(name="Limited"))
    settings.REDIS_URL = own_redis.url
    assert client.post(path, {"n": 0}, content_type="application/json").status_code == 200
    own_redis.stop()
    settings.TRIGGERFISH_RATE_LIMIT_FAIL_OPEN = True
    open_response = client.post(path, {"n": 1}, content_type="application/json")
    assert open_response.status_code == 200
    settings.TRIGGERFISH_RATE_LIMIT_FAIL_OPEN = False
    closed = client.post(path, {"n": 2}, content_type="application/json")
    assert closed.status_code == 503
    assert "rate limiter" in closed.json()["error"]
    # Failing closed stored nothing; failing open stored what it acknowledged.
    stored = {
        str(i) for i in Execution.objects.filter(instance=instance).values_list("id", flat=True)
    }
    assert open_response.json()["executionId"] in stored
    assert len(stored) == 2
