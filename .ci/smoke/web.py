"""HTTP against the servers the smoke started (loopback only), the API client it drives
them with, and waiting until something is true."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from smoke.base import RUN_SECONDS, START_SECONDS, SmokeFailure


class Api:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.token = token

    def call(
        self, method: str, path: str, body: Any = None, content_type: str = "application/json"
    ) -> Any:
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        status, text = http(
            self.base_url + path,
            data,
            content_type,
            method,
            {"Authorization": f"Bearer {self.token}"},
        )
        if status >= 300:
            raise SmokeFailure(f"{method} {path} answered {status}: {text[:500]}")
        return json.loads(text)

    def wait_finished(self, execution_id: str) -> dict[str, Any]:
        found: dict[str, Any] = {}

        def finished() -> bool:
            found.update(self.call("GET", f"/api/v1/executions/{execution_id}"))
            return found["status"] not in {"queued", "running"}

        wait_until(finished, f"execution {execution_id} finishes", RUN_SECONDS)
        return found


def http(
    url: str,
    data: bytes | None = None,
    content_type: str = "application/json",
    method: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    # Only the loopback URLs this script builds (the server it started).
    request = urllib.request.Request(  # noqa: S310
        url, data=data, method=method, headers=dict(headers or {})
    )
    if data is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, ""


def wait_until(condition: Callable[[], bool], what: str, timeout: float = START_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SmokeFailure(f"timed out after {timeout:.0f} s waiting until {what}")
        time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
