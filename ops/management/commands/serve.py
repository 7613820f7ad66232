"""``manage.py serve``: everything on one machine, in one command (SPEC §6).

It prepares the database on every start (``ops.first_run``: migrate, collectstatic, the
demo and an admin login on first run), then runs gunicorn, a Celery worker and Celery beat
as its children until stopped (``ops.supervisor``). The default broker (``filesystem://``
under the data folder) and database (SQLite) need no server and work across these
processes.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops.first_run import admin_login_lines, database_prepare, demo_lines
from ops.supervisor import Supervisor, child_environment, serve_children, url_host


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

        env = child_environment(host, port)
        demo_failure = database_prepare(
            load_demo=not options["no_demo"], say=self._say, warn=self.stderr.write
        )
        login = admin_login_lines()
        demo = demo_lines(demo_failure, skipped=options["no_demo"])

        children = serve_children(
            host, port, workers=options["workers"], concurrency=options["concurrency"]
        )
        supervisor = Supervisor(children, say=self._say, warn=self.stderr.write)
        failed = supervisor.run(
            env=env,
            ready_url=f"http://{url_host(host)}:{port}/admin/login/",
            on_ready=lambda: self._banner(login, demo),
        )
        if failed is not None:
            raise CommandError(
                f"{failed.name} exited unexpectedly with code {failed.exit_code()}; "
                "stopped the other processes."
            )
        self._say("Stopped.")

    def _banner(self, login_lines: list[str], demo_lines: list[str]) -> None:
        lines = [
            "",
            "Triggerfish is running.",
            f"Admin:     {settings.BASE_URL}/admin/",
            *login_lines,
            *demo_lines,
            "Stop:      Ctrl-C",
            "",
        ]
        self._say("\n".join(lines))

    def _say(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()
