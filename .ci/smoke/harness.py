"""The smoke's harness: each check reported as one PASS/FAIL line, and the processes,
databases and RabbitMQ vhost it starts, all stopped and removed again."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from smoke.base import PG_ADMIN, RABBITMQ_VHOST, ROOT, STOP_SECONDS, SmokeFailure


class Harness:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.venv = work / "venv"
        self.python = self.venv / "bin" / "python"
        self.processes: list[tuple[str, subprocess.Popen, Path]] = []
        self.databases: list[str] = []
        self.vhost_created = False
        self.passed = 0
        self.failed = 0

    # -- reporting -------------------------------------------------------------------

    def check(self, label: str, step: Callable[[], str]) -> bool:
        started = time.monotonic()
        try:
            detail = step()
        except (SmokeFailure, subprocess.CalledProcessError, OSError, KeyError) as error:
            self.failed += 1
            print(f"FAIL {label}: {error}", flush=True)
            self.print_logs()
            return False
        self.passed += 1
        print(f"PASS {label}: {detail} ({time.monotonic() - started:.1f} s)", flush=True)
        return True

    def print_logs(self) -> None:
        for name, _, log in self.processes:
            lines = log.read_text(errors="replace").splitlines()[-40:]
            print(f"--- last lines of {name} ({log})", *lines, sep="\n", flush=True)

    # -- processes, databases and the vhost -----------------------------------------

    def manage(self, arguments: list[str], env: dict[str, str]) -> str:
        result = subprocess.run(
            [str(self.python), "manage.py", *arguments],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            command = " ".join(arguments)
            raise SmokeFailure(
                f"manage.py {command} exited {result.returncode}:\n{result.stderr[-3000:]}"
            )
        return result.stdout

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> Path:
        log = self.work / f"{name.replace(' ', '_').strip('()')}.log"
        with log.open("w") as output:
            # Its own session: stopping it reaches gunicorn's and prefork's children too.
            process = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append((name, process, log))
        return log

    def running(self) -> bool:
        """True while every started process runs; SmokeFailure naming those that exited."""
        dead = [
            f"{name} (exit {process.returncode})"
            for name, process, _ in self.processes
            if process.poll() is not None
        ]
        if dead:
            raise SmokeFailure(f"exited: {', '.join(dead)}")
        return True

    def stop_all(self) -> None:
        for _, process, _ in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for _, process, _ in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:  # whatever is left of its group (a prefork child)
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
        self.processes.clear()

    def drop_databases(self) -> None:
        for database in self.databases:
            subprocess.run(
                [*PG_ADMIN, "-c", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"],
                capture_output=True,
            )
        self.databases.clear()

    def rabbitmq_vhost(self) -> str:
        for command in (
            ["add_vhost", RABBITMQ_VHOST],
            ["set_permissions", "-p", RABBITMQ_VHOST, "guest", ".*", ".*", ".*"],
        ):
            subprocess.run(["rabbitmqctl", "-q", *command], check=True, capture_output=True)
        self.vhost_created = True
        return f"vhost {RABBITMQ_VHOST}"

    def remove_rabbitmq_vhost(self) -> None:
        if self.vhost_created:
            subprocess.run(
                ["rabbitmqctl", "-q", "delete_vhost", RABBITMQ_VHOST], capture_output=True
            )
