"""The supervisor behind ``manage.py serve``: the three production processes — gunicorn for
the web, a Celery worker and Celery beat — run as its children with the same interpreter
and environment, so what runs here is what runs in production, only on one host.

It stops every child on SIGINT/SIGTERM, and stops the rest and reports the child when one
dies on its own: a half-running system that looks healthy is worse than none.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from core.processes import beat_command, web_command, worker_command

# How long children get to finish their current work after SIGTERM before SIGKILL.
STOP_GRACE_SECONDS = 15.0
READY_TIMEOUT_SECONDS = 60.0
POLL_SECONDS = 0.2

Say = Callable[[str], None]


def _die_with_parent() -> None:
    """Runs in each child before exec: on Linux, ask the kernel to send SIGTERM to the
    child if this supervisor dies without cleaning up (kill -9), so no orphan keeps the
    port or the broker busy. Elsewhere this is a no-op."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen | None = field(default=None, repr=False)

    def start(self, env: dict[str, str]) -> None:
        # Each child leads its own process group: a terminal's Ctrl-C reaches only the
        # supervisor, which then stops the children in order, and a child's own
        # subprocesses (gunicorn's workers) can be signalled together.
        self.process = subprocess.Popen(
            self.argv,
            env=env,
            cwd=settings.BASE_DIR,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def exit_code(self) -> int | None:
        return self.process.poll() if self.process else None

    def signal_group(self, signum: int) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)


def url_host(host: str) -> str:
    """The host part of a URL reaching a server bound to ``host``: a wildcard address is
    reached on 127.0.0.1, an IPv6 address in brackets."""
    shown = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host  # noqa: S104
    return f"[{shown}]" if ":" in shown else shown


def child_environment(host: str, port: int) -> dict[str, str]:
    """The children's environment: ours, plus BASE_URL matching the bound address unless
    the operator set it (webhook URLs must point at this server)."""
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    env.setdefault("PYTHONUNBUFFERED", "1")
    if "BASE_URL" not in os.environ:
        env["BASE_URL"] = f"http://{url_host(host)}:{port}"
        # This process prints the demo's URLs, so it must agree with its children.
        settings.BASE_URL = env["BASE_URL"]
    return env


def serve_children(host: str, port: int, *, workers: int, concurrency: int) -> list[Child]:
    """Web, worker and beat, in the order they start (and the web first: its readiness is
    what the supervisor waits for)."""
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    web = web_command(
        bind,
        workers=workers,
        # gthread: a synchronous webhook holds its request while the run finishes (up to
        # the sync timeout), so each worker needs several threads and a timeout above it.
        worker_class="gthread",
        threads=8,
        timeout=int(max(60.0, settings.TRIGGERFISH_SYNC_TIMEOUT_SECONDS + 30)),
        graceful_timeout=int(STOP_GRACE_SECONDS - 5),
        access_log=True,
        # Access and error lines with webhook tokens and API keys redacted (SPEC §3).
        logger_class="config.logging.GunicornLogger",
    )
    worker = worker_command(pool="threads", concurrency=concurrency, hostname=f"worker-{port}@%h")
    beat = beat_command(
        scheduler=settings.CELERY_BEAT_SCHEDULER,
        # The schedule file is used only if the scheduler is swapped for Celery's own.
        schedule_file=str(settings.DATA_DIR / "celerybeat-schedule"),
    )
    return [Child("web", web), Child("worker", worker), Child("beat", beat)]


class Supervisor:
    """Runs ``children`` until a signal asks it to stop or one of them exits."""

    def __init__(self, children: list[Child], *, say: Say, warn: Say) -> None:
        self.children = children
        self.say = say
        self.warn = warn
        self.stop_requested: list[int] = []

    def run(
        self, *, env: dict[str, str], ready_url: str, on_ready: Callable[[], None]
    ) -> Child | None:
        """Start the children, wait until ``ready_url`` answers, call ``on_ready``, then
        watch them. Returns the child that exited on its own, if one did; every child
        is stopped when this returns."""

        def request_stop(signum: int, _frame: Any) -> None:
            self.stop_requested.append(signum)

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        try:
            for child in self.children:
                child.start(env)
                self.say(f"Started {child.name} (pid {child.pid}): {shlex.join(child.argv[1:])}")
            failed = self._wait_until_ready(ready_url)
            if failed is None and not self.stop_requested:
                on_ready()
                failed = self._supervise()
        finally:
            self._stop()
        return failed

    def _wait_until_ready(self, url: str) -> Child | None:
        """Poll ``url`` until the web server answers. Returns the child that died
        meanwhile, if one did."""
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline and not self.stop_requested:
            failed = self._first_exited()
            if failed is not None:
                return failed
            try:
                with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own http URL
                    return None
            except urllib.error.HTTPError:
                # Answering is what counts: ALLOWED_HOSTS may refuse 127.0.0.1 with a 400.
                return None
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(POLL_SECONDS)
        if not self.stop_requested:
            self.warn(f"The web server did not answer {url} within {READY_TIMEOUT_SECONDS:.0f} s.")
            return self.children[0]
        return None

    def _supervise(self) -> Child | None:
        while not self.stop_requested:
            failed = self._first_exited()
            if failed is not None:
                return failed
            time.sleep(POLL_SECONDS)
        self.say(f"Received {signal.Signals(self.stop_requested[0]).name}; stopping.")
        return None

    def _first_exited(self) -> Child | None:
        for child in self.children:
            if child.exit_code() is not None:
                return child
        return None

    def _stop(self) -> None:
        # Further signals must not interrupt the shutdown half-way.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        children = self.children
        running = [c for c in children if c.process is not None and c.exit_code() is None]
        for child in running:
            child.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.warn(f"{child.name} did not stop in time; killing it.")
        # SIGKILL whatever is left in each group: a child's own subprocesses (gunicorn
        # workers, a stuck thread pool) must not outlive it.
        for child in children:
            child.signal_group(signal.SIGKILL)
            if child.process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.process.wait(timeout=5)
