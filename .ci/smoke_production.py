#!/usr/bin/env python3
"""Production smoke: Triggerfish installed and run as the README's production section says.

    python3 .ci/smoke_production.py        # from any folder; exits 1 on any failure

1. a fresh virtualenv (``python3 -m venv``) and ``pip install .`` from this clone — no test
   extras, nothing from the development virtualenv;
2. for each broker, Redis (``redis://127.0.0.1:6379/5``) and then RabbitMQ (``amqp://``,
   127.0.0.1:5672, guest/guest, a vhost of its own), on a PostgreSQL database of its own:
   ``manage.py migrate`` and ``collectstatic``, then gunicorn, ``celery -A config worker``
   and ``celery -A config beat`` as three processes, and through them
   - one webhook: accepted at once (an execution id), and that execution succeeds;
   - one schedule fire: an ``every 1 minutes`` flow deployed while beat was "down" for five
     minutes (its ``last_run_at`` set back), so the real beat fires the missed slot once on
     start instead of a minute later, and the worker runs it to success.

Everything is its own: the databases (``triggerfish_smoke_<pid>_<broker>``), the Redis db
numbers (5 for the broker, 6 for ``REDIS_URL``), the queue (``smoke-<pid>-<broker>``), the
RabbitMQ vhost, the ports, the data folders; all are removed on exit. Needs PostgreSQL,
Redis and RabbitMQ running (``.ci/run`` starts them) and ``psql``/``rabbitmqctl``.
Prints one ``PASS``/``FAIL`` line per check and ``N passed, N failed`` at the end.

The checks are here; what they stand on (settings, HTTP, the process harness) is in
``.ci/smoke/``, found on ``sys.path`` as this script's folder.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from smoke.base import (
    CONFIG_VARIABLES,
    PG_ADMIN,
    PG_URL,
    RABBITMQ_URL,
    REDIS_BROKER_URL,
    REDIS_URL,
    ROOT,
    RUN_ID,
    SmokeFailure,
)
from smoke.harness import Harness
from smoke.web import Api, free_port, http, wait_until

DEFINITION = """\
name: Production Smoke
flows:
  - name: Hook
    trigger: {type: webhook}
    steps:
      - name: Reply
        action: flow.return
        inputs: {data: "{{ trigger.body.data }}"}
  - name: Tick
    trigger:
      type: schedule
      schedule: {every: 1, unit: minutes}
    steps:
      - name: Reply
        action: flow.return
        inputs: {data: "{{ trigger.scheduledTime }}"}
"""


class Smoke(Harness):
    # -- install ----------------------------------------------------------------------

    def install(self) -> str:
        subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True)
        # A plain `pip install .`, as an operator runs it: no extras, no editable install.
        result = subprocess.run(
            [
                str(self.python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                ".",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise SmokeFailure(f"pip install . failed:\n{result.stdout}{result.stderr}")
        for module in ("pytest", "hypothesis", "playwright"):  # test extras stay out
            probe = subprocess.run(
                [str(self.python), "-c", f"import {module}"], capture_output=True
            )
            if probe.returncode == 0:
                raise SmokeFailure(f"{module} (a test extra) is in the production virtualenv")
        return f"pip install . into a fresh virtualenv {self.venv}"

    # -- one broker ----------------------------------------------------------------------

    def broker_round(self, broker: str, broker_url: str) -> None:
        database = f"triggerfish_smoke_{RUN_ID}_{broker}"
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        data_dir = self.work / f"data-{broker}"
        data_dir.mkdir()
        env = {key: value for key, value in os.environ.items() if key not in CONFIG_VARIABLES}
        env.update(
            DATABASE_URL=PG_URL.format(name=database),
            CELERY_BROKER_URL=broker_url,
            REDIS_URL=REDIS_URL,
            BASE_URL=base_url,
            SECRET_KEY=secrets.token_urlsafe(40),
            TRIGGERFISH_DATA_DIR=str(data_dir),
            CELERY_TASK_DEFAULT_QUEUE=f"smoke-{RUN_ID}-{broker}",
            PATH=f"{self.venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            PYTHONUNBUFFERED="1",
        )
        bin_dir = self.venv / "bin"
        state: dict[str, Any] = {}

        def set_up() -> str:
            subprocess.run([*PG_ADMIN, "-c", f"CREATE DATABASE {database}"], check=True)
            self.databases.append(database)
            for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
                self.manage(command, env)
            password = secrets.token_urlsafe(16)
            self.manage(
                ["createsuperuser", "--noinput", "--username", "smoke", "--email", "s@example.com"],
                {**env, "DJANGO_SUPERUSER_PASSWORD": password},
            )
            state["token"] = (
                self.manage(["create_api_token", "smoke"], env).strip().splitlines()[-1]
            )
            return f"database {database} migrated, static files collected, an API token"

        def start_web_and_worker() -> str:
            self.start(
                f"gunicorn ({broker})",
                [
                    str(bin_dir / "gunicorn"),
                    "config.wsgi",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--worker-class",
                    "gthread",
                    "--threads",
                    "8",
                    "--timeout",
                    "60",
                    "--workers",
                    "1",
                    # Not gunicorn's control socket in $HOME, shared by every gunicorn here.
                    "--no-control-socket",
                ],
                env,
            )
            # The README's commands; INFO shows "ready." and beat's "sent" lines.
            worker = self.start(
                f"worker ({broker})",
                [str(bin_dir / "celery"), "-A", "config", "worker", "--loglevel", "INFO"],
                env,
            )
            # A process that died (an import error at start) fails at once, not at the timeout.
            wait_until(
                lambda: self.running() and http(f"{base_url}/admin/login/")[0] == 200,
                "gunicorn answers",
            )
            wait_until(
                lambda: self.running() and " ready." in worker.read_text(errors="replace"),
                "worker ready",
            )
            return f"gunicorn on {base_url}, celery worker on {broker_url.split('@')[-1]}"

        def deploy() -> str:
            api = Api(base_url, state["token"])
            integration = api.call(
                "POST", "/api/v1/integrations/import", DEFINITION.encode(), "application/yaml"
            )
            customer = api.call(
                "POST", "/api/v1/customers/", {"name": "Smoke", "externalId": f"smoke-{broker}"}
            )
            instance = api.call(
                "POST",
                "/api/v1/instances/",
                {"integration": integration["id"], "customer": customer["id"], "name": "Smoke"},
            )
            api.call("POST", f"/api/v1/instances/{instance['id']}/deploy", {})
            detail = api.call("GET", f"/api/v1/instances/{instance['id']}")
            flows = {flow["name"]: flow for flow in detail["flows"]}
            state.update(api=api, instance=instance["id"], webhook=flows["Hook"]["webhookUrl"])
            # Beat "was down" for five minutes: it fires the missed minute once on start.
            backdated = subprocess.run(
                [
                    *PG_ADMIN,
                    "-d",
                    database,
                    "-t",
                    "-A",
                    "-c",
                    "UPDATE django_celery_beat_periodictask SET last_run_at = now() - "
                    "interval '5 minutes' WHERE task = 'triggers.fire_schedule' RETURNING id",
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()
            if len(backdated) != 1:
                raise SmokeFailure(f"expected one schedule task, found {backdated}")
            return f"integration imported, instance {instance['id']} deployed"

        def webhook() -> str:
            status, body = http(
                state["webhook"], json.dumps({"smoke": broker}).encode(), "application/json"
            )
            if status != 200 or "executionId" not in body:
                raise SmokeFailure(f"webhook answered {status}: {body}")
            accepted = json.loads(body)["executionId"]
            execution = state["api"].wait_finished(accepted)
            if execution["status"] != "succeeded":
                raise SmokeFailure(
                    f"execution {accepted}: {execution['status']} {execution['error']}"
                )
            return f"accepted {accepted} at once (200), run succeeded"

        def schedule() -> str:
            beat = self.start(
                f"beat ({broker})",
                [
                    str(bin_dir / "celery"),
                    "-A",
                    "config",
                    "beat",
                    "--loglevel",
                    "INFO",
                    "-s",
                    str(data_dir / "celerybeat-schedule"),
                ],
                env,
            )
            api = state["api"]
            query = f"/api/v1/executions/?instance={state['instance']}&flow=Tick"
            wait_until(
                lambda: self.running() and api.call("GET", query)["count"] > 0,
                "beat fires the schedule",
            )
            fired = api.call("GET", query)["results"][0]
            execution = api.wait_finished(fired["id"])
            if execution["status"] != "succeeded" or execution["triggerKind"] != "schedule":
                raise SmokeFailure(f"schedule run {fired['id']}: {execution}")
            if "TriggerfishScheduler: sent" not in beat.read_text(errors="replace"):
                raise SmokeFailure("beat's log does not show it sent the fire")
            return f"beat fired the missed minute, run {fired['id']} succeeded"

        def still_running() -> str:
            self.running()
            return "gunicorn, worker and beat still running"

        try:
            for label, step in (
                ("set up", set_up),
                ("start web and worker", start_web_and_worker),
                ("deploy", deploy),
                ("webhook", webhook),
                ("schedule fire through beat", schedule),
                ("processes", still_running),
            ):
                if not self.check(f"{broker}: {label}", step):
                    break
        finally:
            self.stop_all()
            self.drop_databases()


def main() -> int:
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="triggerfish-smoke."))
    smoke = Smoke(work)
    # SIGTERM/SIGINT (CI's timeout, Ctrl-C) still clean up: processes, databases, vhost.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        if smoke.check("install", smoke.install):
            smoke.broker_round("redis", REDIS_BROKER_URL)
            if smoke.check("rabbitmq: vhost", smoke.rabbitmq_vhost):
                smoke.broker_round("rabbitmq", RABBITMQ_URL)
    finally:
        smoke.stop_all()
        smoke.drop_databases()
        smoke.remove_rabbitmq_vhost()
        shutil.rmtree(work, ignore_errors=True)
    took = time.monotonic() - started
    print(f"production smoke: {smoke.passed} passed, {smoke.failed} failed in {took:.0f} s")
    return 1 if smoke.failed else 0


if __name__ == "__main__":
    sys.exit(main())
