"""What the web benchmarks share: a throwaway PostgreSQL database, Redis as broker and
``REDIS_URL``, gunicorn with the production settings plus one bare baseline view, a Celery
worker, ``wrk``, percentiles, and recording a dated row in docs/performance.md.

Every bench assumes PostgreSQL (user ``postgres``, trust) on 127.0.0.1:5432, Redis on
127.0.0.1:6379 and, for load, ``wrk`` on the PATH (``apt-get install -y wrk``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import redis

from core.processes import web_command, worker_command

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
# Redis db 13: away from the default db 0 and the schedules bench's db 14.
REDIS_URL = "redis://127.0.0.1:6379/13"
PERFORMANCE_MD = ROOT / "docs" / "performance.md"
BARE_PATH = "/bench/bare"


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"nproc {os.cpu_count()}, {model}, Python {sys.version.split()[0]}"


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a process has used, from ``/proc/<pid>/stat``; None when it is
    gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _pg(statement: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
        connection.execute(statement)


class Environment:
    """A fresh database, data folder and queue; ``env`` is what every child process gets."""

    def __init__(self, name: str, extra: dict[str, str] | None = None) -> None:
        self.name = name
        self.work = Path(tempfile.mkdtemp(prefix=f"tf-bench-{name}-"))
        self.database = f"triggerfish_bench_{name}_{os.getpid()}"
        self.queue = f"bench-{name}-{os.getpid()}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{self.database}",
            "REDIS_URL": REDIS_URL,
            "CELERY_BROKER_URL": REDIS_URL,
            # Own queue: no other worker on this Redis takes the bench's messages.
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "TRIGGERFISH_DATA_DIR": str(self.work),
            # Out of the way: the accept bench measures the path, not the 429s.
            "TRIGGERFISH_RATE_LIMIT_PER_SECOND": "1000000",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            **(extra or {}),
        }
        self.env.pop("CELERY_BEAT_SCHEDULER", None)
        self.processes: list[subprocess.Popen] = []

    def __enter__(self) -> Environment:
        _pg(f'CREATE DATABASE "{self.database}"')
        self.manage("migrate", "--verbosity", "0")
        return self

    def __exit__(self, *exc: object) -> None:
        for process in reversed(self.processes):
            stop(process)
        try:
            redis.Redis.from_url(REDIS_URL).delete(self.queue)
        except Exception:  # noqa: S110 - leftover bench messages are harmless, just untidy
            pass
        _pg(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        shutil.rmtree(self.work, ignore_errors=True)

    def manage(self, *args: str) -> None:
        subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=self.env, check=True)

    def django(self, code: str) -> Any:
        """Run ``code`` in a Django child process; it sets ``result``, returned as JSON."""
        script = (
            "import django, json\ndjango.setup()\n"
            + code
            + "\nprint('RESULT ' + json.dumps(result, default=str))\n"
        )
        completed = subprocess.run(
            [PYTHON, "-c", script], cwd=ROOT, env=self.env, capture_output=True, text=True
        )
        if completed.returncode != 0:
            raise RuntimeError(f"the Django child failed:\n{completed.stderr[-3000:]}")
        output = completed.stdout
        for line in output.splitlines():
            if line.startswith("RESULT "):
                return json.loads(line[7:])
        raise RuntimeError(f"no result from the child:\n{output}")

    def gunicorn(self, *, workers: int) -> str:
        """``gunicorn config.wsgi`` as production runs it (sync workers), with the bench
        settings (the product's URLs plus the bare view). Returns the base URL."""
        port = free_port()
        log = open(self.work / f"gunicorn-{port}.log", "w")
        process = subprocess.Popen(
            web_command(f"127.0.0.1:{port}", workers=workers, log_level="warning"),
            cwd=ROOT,
            env={**self.env, "BASE_URL": f"http://127.0.0.1:{port}"},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(url + BARE_PATH, data=b"{}", timeout=1)
                # Warm every worker (imports, connections) before anything is measured.
                for _ in range(workers * 20):
                    urllib.request.urlopen(url + BARE_PATH, data=b"{}", timeout=5)
                return url
            except OSError:
                if process.poll() is not None:
                    break
                time.sleep(0.1)
        raise RuntimeError(
            f"gunicorn did not start: {(self.work / f'gunicorn-{port}.log').read_text()[-3000:]}"
        )

    def worker(
        self, *, pool: str = "solo", concurrency: int = 1, name: str = "w1"
    ) -> subprocess.Popen:
        """``celery -A config worker`` on the bench queue; returns once it is ready."""
        log_path = self.work / f"worker-{name}.log"
        log = open(log_path, "w")
        process = subprocess.Popen(
            worker_command(
                pool=pool,
                concurrency=concurrency,
                queues=[self.queue],
                hostname=f"{name}@%h",
                include=["bench.tasks"],
                standalone=True,
            ),
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if re.search(r" ready\.\s*$", log_path.read_text(), re.MULTILINE):
                return process
            if process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"worker did not start: {log_path.read_text()[-3000:]}")

    def forget(self, process: subprocess.Popen) -> None:
        stop(process)
        self.processes.remove(process)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def environment(name: str, extra: dict[str, str] | None = None) -> Iterator[Environment]:
    with Environment(name, extra) as env:
        yield env


# wrk ----------------------------------------------------------------------------------------

WRK_SCRIPT = Path(__file__).resolve().parent / "wrk_post.lua"


def wrk(
    url: str,
    *,
    connections: int,
    seconds: int,
    body: str,
    threads: int = 2,
    ids_file: Path | None = None,
) -> dict[str, Any]:
    """POST ``body`` at ``url`` for ``seconds`` over ``connections``; statuses counted by the
    Lua script, latency percentiles from wrk's own histogram (microseconds)."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    env = {**os.environ, "WRK_BODY": body, "WRK_IDS": str(ids_file or "")}
    output = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(WRK_SCRIPT),
            url,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    ).stdout
    result: dict[str, Any] = {"statuses": {}}
    for line in output.splitlines():
        if line.startswith("BENCH "):
            result.update(json.loads(line[6:]))
    if "requests" not in result:
        raise RuntimeError(f"wrk printed no summary:\n{output}")
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["ok"] = sum(n for status, n in result["statuses"].items() if status.startswith("2"))
    return result


# Recording ----------------------------------------------------------------------------------


def record(marker: str, row: str) -> None:
    """Insert a dated table row before ``<!-- bench:<marker> -->`` in docs/performance.md."""
    tag = f"<!-- bench:{marker} -->"
    text = PERFORMANCE_MD.read_text()
    if tag not in text:
        print(f"(no {tag} in docs/performance.md; row not recorded)")
        return
    PERFORMANCE_MD.write_text(text.replace(tag, f"{row}\n{tag}", 1))
    print(f"Recorded in docs/performance.md ({marker}).")


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")
