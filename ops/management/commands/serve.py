"""``manage.py serve``: everything on one machine, in one command (SPEC §6).

A small supervisor. It prepares the database (migrate, collectstatic, the demo and an
admin login on first run), then runs the three production processes as its children —
gunicorn for the web, a Celery worker and Celery beat — with the same interpreter and
environment, so what runs here is what runs in production, only on one host. The
default broker (``filesystem://`` under the data folder) and database (SQLite) need no
server and work across these processes.

It stops every child on SIGINT/SIGTERM, and stops the rest and exits non-zero when one
child dies on its own: a half-running system that looks healthy is worse than none.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

# How long children get to finish their current work after SIGTERM before SIGKILL.
STOP_GRACE_SECONDS = 15.0
READY_TIMEOUT_SECONDS = 60.0
POLL_SECONDS = 0.2
ADMIN_USERNAME = "admin"


def _die_with_parent() -> None:
    """Runs in each child before exec: on Linux, ask the kernel to send SIGTERM to the
    child if this supervisor dies without cleaning up (kill -9), so no orphan keeps the
    port or the broker busy. Elsewhere this is a no-op."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def _gunicorn_control_socket_off() -> list[str]:
    """Newer gunicorn opens a control socket at one fixed path in the home folder; two
    servers on one machine (or a test beside a developer's server) would fight over it."""
    from gunicorn.config import KNOWN_SETTINGS

    if any(setting.name == "control_socket_disable" for setting in KNOWN_SETTINGS):
        return ["--no-control-socket"]
    return []


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


class Command(BaseCommand):
    help = (
        "Run Triggerfish on one machine: migrate, load the demo on first run, then run the "
        "web server (gunicorn), a Celery worker and Celery beat until stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host", default="127.0.0.1", help="Address to bind (default 127.0.0.1)."
        )
        parser.add_argument("--port", type=int, default=8000, help="Port to bind (default 8000).")
        parser.add_argument(
            "--workers", type=int, default=2, help="gunicorn worker processes (default 2)."
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=4,
            help="Celery worker threads (default 4).",
        )
        parser.add_argument(
            "--no-demo", action="store_true", help="Do not load the demo on an empty database."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host: str = options["host"]
        port: int = options["port"]
        if options["workers"] < 1 or options["concurrency"] < 1:
            raise CommandError("--workers and --concurrency must be at least 1.")

        env = self._child_environment(host, port)
        demo_failure = self._prepare(load_demo=not options["no_demo"])
        login_lines = self._admin_login_lines()
        demo_lines = self._demo_lines(demo_failure, skipped=options["no_demo"])

        children = self._children(host, port, options["workers"], options["concurrency"])
        stop_requested: list[int] = []

        def request_stop(signum: int, _frame: Any) -> None:
            stop_requested.append(signum)

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)

        try:
            for child in children:
                child.start(env)
                self._say(f"Started {child.name} (pid {child.pid}): {shlex.join(child.argv[1:])}")
            failed = self._wait_until_ready(children, host, port, stop_requested)
            if failed is None and not stop_requested:
                self._banner(host, port, login_lines, demo_lines)
                failed = self._supervise(children, stop_requested)
        finally:
            self._stop(children)

        if failed is not None:
            raise CommandError(
                f"{failed.name} exited unexpectedly with code {failed.exit_code()}; "
                "stopped the other processes."
            )
        self._say("Stopped.")

    # Start-up --------------------------------------------------------------------------

    def _child_environment(self, host: str, port: int) -> dict[str, str]:
        """The children's environment: ours, plus BASE_URL matching the bound address
        unless the operator set it (webhook URLs must point at this server)."""
        env = dict(os.environ)
        env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        env.setdefault("PYTHONUNBUFFERED", "1")
        if "BASE_URL" not in os.environ:
            shown_host = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host  # noqa: S104
            if ":" in shown_host:
                shown_host = f"[{shown_host}]"
            env["BASE_URL"] = f"http://{shown_host}:{port}"
            # This process prints the demo's URLs, so it must agree with its children.
            settings.BASE_URL = env["BASE_URL"]
        return env

    def _prepare(self, *, load_demo: bool) -> str | None:
        """Migrate, collect static files, load the demo into an empty database. Returns
        why the demo could not be loaded, if it could not."""
        self._say(f"Data folder: {settings.DATA_DIR}")
        self._say(f"Database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        self._say("Database migrated; static files collected.")
        if not load_demo:
            return None
        from integrations.models import Integration

        if Integration.objects.exists():
            return None
        from ops.demo import demo_load

        try:
            demo_load()
        except Exception as error:  # the demo is a convenience; the runtime still starts
            self.stderr.write(f"Could not load the demo integration: {error!r}")
            return repr(error)
        self._say("Loaded the demo integration (first run).")
        return None

    def _admin_login_lines(self) -> list[str]:
        """Create ``admin`` with a random password when the database has no superuser.
        The password is printed once and stored nowhere but the password hash."""
        users = get_user_model()
        if not users.objects.filter(is_superuser=True).exists():
            password = secrets.token_urlsafe(12)
            users.objects.create_superuser(ADMIN_USERNAME, email="", password=password)
            return [
                f"Login:     {ADMIN_USERNAME} / {password}",
                "           (created now; shown only this once — change it in the admin)",
            ]
        names = list(
            users.objects.filter(is_superuser=True)
            .order_by("pk")
            .values_list("username", flat=True)[:3]
        )
        return [
            f"Login:     existing superuser {', '.join(names)} (reused; its password is unchanged)",
            f"           forgot it? python manage.py changepassword {names[0]}",
        ]

    def _demo_lines(self, demo_failure: str | None, *, skipped: bool) -> list[str]:
        from ops.demo import demo_describe

        if demo_failure is not None:
            return [f"Demo:      could not be loaded ({demo_failure})"]
        try:
            demo = demo_describe()
        except Exception as error:  # a missing piece must not stop the runtime starting
            return [f"Demo:      unavailable ({error!r})"]
        if demo is None and skipped:
            return ["Demo:      not loaded (--no-demo)"]
        if demo is None:
            return [
                "Demo:      none (it loads only into an empty database; "
                "deploy an instance to get webhook URLs)"
            ]
        headers = ["-H 'Content-Type: application/json'"]
        if demo["api_keys"]:
            headers.append(f"-H {shlex.quote('Api-Key: ' + demo['api_keys'][0])}")
        body = shlex.quote('{"hello": "world"}')
        url = demo["webhook_url"]
        return [
            f"Webhook:   {url}   ({demo['integration']}, flow {demo['flow']!r}, "
            f"customer {demo['customer']!r})",
            f"Try:       curl -X POST {' '.join(headers)} -d {body} {url}",
            "Sync echo: curl -X POST "
            + " ".join(
                [
                    *headers,
                    "-H 'triggerfish-synchronous: true'",
                    "-H 'triggerfish-prefer-direct-sync-response: true'",
                ]
            )
            + f" -d {body} {url}",
        ]

    def _children(self, host: str, port: int, workers: int, concurrency: int) -> list[Child]:
        python = sys.executable
        bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        # gthread: a synchronous webhook holds its request while the run finishes (up to
        # the sync timeout), so each worker needs several threads and a timeout above it.
        timeout = int(max(60.0, settings.TRIGGERFISH_SYNC_TIMEOUT_SECONDS + 30))
        web = [python, "-m", "gunicorn", "config.wsgi", "--bind", bind]
        web += ["--workers", str(workers), "--worker-class", "gthread", "--threads", "8"]
        web += ["--timeout", str(timeout), "--graceful-timeout", str(int(STOP_GRACE_SECONDS - 5))]
        web += ["--access-logfile", "-", *_gunicorn_control_socket_off()]
        # Access and error lines with webhook tokens and API keys redacted (SPEC §3).
        web += ["--logger-class", "config.logging.GunicornLogger"]
        worker = [python, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO"]
        worker += ["-P", "threads", "-c", str(concurrency), "--hostname", f"worker-{port}@%h"]
        beat = [python, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO"]
        beat += ["-S", settings.CELERY_BEAT_SCHEDULER]
        # The schedule file is used only if the scheduler is swapped for Celery's own.
        beat += ["-s", str(settings.DATA_DIR / "celerybeat-schedule")]
        return [Child("web", web), Child("worker", worker), Child("beat", beat)]

    # Running ---------------------------------------------------------------------------

    def _wait_until_ready(
        self, children: list[Child], host: str, port: int, stop_requested: list[int]
    ) -> Child | None:
        """Poll the admin login page until the web server answers. Returns the child that
        died meanwhile, if one did."""
        shown_host = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host  # noqa: S104
        if ":" in shown_host:
            shown_host = f"[{shown_host}]"
        url = f"http://{shown_host}:{port}/admin/login/"
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline and not stop_requested:
            failed = self._first_exited(children)
            if failed is not None:
                return failed
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return None
            except urllib.error.HTTPError:
                # Answering is what counts: ALLOWED_HOSTS may refuse 127.0.0.1 with a 400.
                return None
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(POLL_SECONDS)
        if not stop_requested:
            self.stderr.write(
                f"The web server did not answer {url} within {READY_TIMEOUT_SECONDS:.0f} s."
            )
            return children[0]
        return None

    def _banner(self, host: str, port: int, login_lines: list[str], demo_lines: list[str]) -> None:
        base = settings.BASE_URL
        lines = [
            "",
            "Triggerfish is running.",
            f"Admin:     {base}/admin/",
            *login_lines,
            *demo_lines,
            "Stop:      Ctrl-C",
            "",
        ]
        self._say("\n".join(lines))

    def _supervise(self, children: list[Child], stop_requested: list[int]) -> Child | None:
        while not stop_requested:
            failed = self._first_exited(children)
            if failed is not None:
                return failed
            time.sleep(POLL_SECONDS)
        self._say(f"Received {signal.Signals(stop_requested[0]).name}; stopping.")
        return None

    @staticmethod
    def _first_exited(children: list[Child]) -> Child | None:
        for child in children:
            if child.exit_code() is not None:
                return child
        return None

    def _stop(self, children: list[Child]) -> None:
        # Further signals must not interrupt the shutdown half-way.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        running = [c for c in children if c.process is not None and c.exit_code() is None]
        for child in running:
            child.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{child.name} did not stop in time; killing it.")
        # SIGKILL whatever is left in each group: a child's own subprocesses (gunicorn
        # workers, a stuck thread pool) must not outlive it.
        for child in children:
            child.signal_group(signal.SIGKILL)
            if child.process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.process.wait(timeout=5)

    def _say(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()
