"""Schedule benchmark: N per-instance schedules due every minute, django-celery-beat's stock
``DatabaseScheduler`` against Triggerfish's ``TriggerfishScheduler``, side by side.

    .venv/bin/python bench/schedules.py                         # SQLite, N = 1,000 and 10,000
    .venv/bin/python bench/schedules.py --database postgres     # PostgreSQL on 127.0.0.1
    .venv/bin/python bench/schedules.py --counts 1000 --schedulers triggerfish

For each database and N: N ``PeriodicTask`` rows shaped exactly as
``triggers.schedules.periodic_tasks.instance_schedules_sync`` writes them
(task ``triggers.fire_schedule``,
kwargs ``{instance_id, flow_name}``, each with its own ``* * * * *`` CrontabSchedule row),
bulk-inserted with fake instance ids (the schedulers only read the rows; no worker runs).
Then, per scheduler, a real ``celery -A config beat -S <scheduler>`` process is started
about 35 s before a minute boundary B, and this process consumes the bench queue:

* lateness of a fire = the time its message arrived here - its scheduled time (B): for
  the stock scheduler each ``triggers.fire_schedule`` message is one fire; for ours each
  ``triggers.fire_schedules`` message carries many fires with their scheduled time;
* fires not received by B + 25 s count as missing (the stock scheduler may still be busy);
* beat CPU = the beat process's user+system CPU time over the 60 s window B-35 s..B+25 s,
  as a percentage of one core (start-up included), and the start-up alone.

Broker: Redis (db 14 of 127.0.0.1:6379) when it answers, else the filesystem broker in a
temporary folder. Each run takes about 70 s; the default (SQLite, 2 counts, 2 schedulers)
about 5 minutes. Results go to stdout as a table (and JSON with ``--json``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import django
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import _pg, machine, process_cpu_seconds  # noqa: E402 - the checkout is on sys.path only now
from core.processes import beat_command  # noqa: E402 - as above

SCHEDULERS = {
    "stock": "django_celery_beat.schedulers:DatabaseScheduler",
    "triggerfish": "triggers.schedules.scheduler:TriggerfishScheduler",
}
LEAD_SECONDS = 35.0
TAIL_SECONDS = 25.0
REDIS_URL = "redis://127.0.0.1:6379/14"


def redis_available() -> bool:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
        return True
    except Exception:
        return False


# Parent: one child process per database ---------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="sqlite", help="sqlite, postgres, or both (a,b)")
    parser.add_argument("--counts", default="1000,10000")
    parser.add_argument("--schedulers", default="stock,triggerfish")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    print(f"Machine: {machine()}", flush=True)
    broker = REDIS_URL if redis_available() else "filesystem"
    print(f"Broker: {broker}", flush=True)
    results = []
    for database in args.database.split(","):
        work = Path(tempfile.mkdtemp(prefix="tf-bench-"))
        env = {
            **os.environ,
            "TRIGGERFISH_DATA_DIR": str(work),
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
        env.pop("CELERY_BEAT_SCHEDULER", None)
        if broker != "filesystem":
            env["CELERY_BROKER_URL"] = broker
        else:
            env.pop("CELERY_BROKER_URL", None)
        pg_name = None
        if database == "sqlite":
            env["DATABASE_URL"] = f"sqlite:///{work / 'bench.sqlite3'}"
        elif database == "postgres":
            pg_name = f"triggerfish_bench_{os.getpid()}"
            _pg(f'CREATE DATABASE "{pg_name}"')
            env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{pg_name}"
        else:
            parser.error(f"unknown database {database!r}")
        try:
            with subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    database,
                    "--counts",
                    args.counts,
                    "--schedulers",
                    args.schedulers,
                ],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
            ) as process:
                assert process.stdout is not None
                for line in process.stdout:
                    if line.startswith("RESULT "):
                        results.append(json.loads(line[7:]))
                    else:
                        print(line.rstrip("\n"), flush=True)
            if process.returncode:
                raise SystemExit(f"the {database} run failed ({process.returncode})")
        finally:
            shutil.rmtree(work, ignore_errors=True)
            if pg_name:
                _pg(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    print()
    print(table(results))
    if args.json:
        print(json.dumps(results, indent=2))


def table(results: list[dict]) -> str:
    head = (
        "| database | N | scheduler | fires received | p50 late | p99 late | max late "
        "| beat CPU (60 s window) | start-up | note |"
    )
    lines = [head, "|" + " --- |" * 10]
    for r in results:

        def ms(key: str, r: dict = r) -> str:
            value = r.get(key)
            return "—" if value is None else f"{value * 1000:.0f} ms"

        cpu = "—" if r.get("cpu_percent") is None else f"{r['cpu_percent']:.1f} %"
        startup = "—" if r.get("startup_seconds") is None else f"{r['startup_seconds']:.1f} s"
        lines.append(
            f"| {r['database']} | {r['count']:,} | {r['scheduler']} "
            f"| {r['received']:,} / {r['count']:,} | {ms('p50')} | {ms('p99')} | {ms('max')} "
            f"| {cpu} | {startup} | {r.get('note', '')} |"
        )
    return "\n".join(lines)


# Child: Django set up on the bench database ---------------------------------------------


def child(args: argparse.Namespace) -> None:
    django.setup()
    # After django.setup(): management commands need the app registry.
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    for count in [int(c) for c in args.counts.split(",")]:
        rows_create(count)
        for name in args.schedulers.split(","):
            print(f"[{args.child}] N={count:,} {name}: running…", flush=True)
            result = run_beat(args.child, count, name)
            print("RESULT " + json.dumps(result), flush=True)


def rows_create(count: int) -> None:
    # Django is set up only in the child process (child()), so its imports wait for it.
    from django_celery_beat.models import CrontabSchedule, PeriodicTask, PeriodicTasks

    from triggers.schedules.periodic_tasks import FIRE_TASK, task_kwargs, task_name

    PeriodicTask.objects.all().delete()
    CrontabSchedule.objects.all().delete()
    for start in range(0, count, 1000):
        size = min(1000, count - start)
        rows = CrontabSchedule.objects.bulk_create(
            [CrontabSchedule(minute="*", timezone="UTC") for _ in range(size)]
        )
        tasks = []
        for offset, row in enumerate(rows):
            instance_id = uuid.UUID(int=start + offset + 1)
            tasks.append(
                PeriodicTask(
                    name=task_name(
                        customer_name=f"Customer {start + offset}",
                        instance_name="Main",
                        flow_name="Sync",
                        instance_id=instance_id,
                    ),
                    task=FIRE_TASK,
                    kwargs=task_kwargs(instance_id=instance_id, flow_name="Sync"),
                    crontab=row,
                )
            )
        PeriodicTask.objects.bulk_create(tasks)
    PeriodicTasks.update_changed()


class Collector(threading.Thread):
    """Drains the bench queue, stamping each message with its arrival time."""

    def __init__(self, queue: str) -> None:
        super().__init__(daemon=True)
        self.queue = queue
        self.received: list[tuple[float, str, bytes | str]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        # Django is set up only in the child process (child()), so this import waits for it.
        from config.celery import app

        with app.connection_for_read() as connection:
            simple = connection.SimpleQueue(self.queue, no_ack=True)
            while not self.stop.is_set():
                try:
                    message = simple.get(block=True, timeout=0.2)
                except simple.Empty:
                    continue
                self.received.append((time.time(), message.headers.get("task", ""), message.body))
            simple.close()


def run_beat(database: str, count: int, name: str) -> dict:
    # Django is set up only in the child process (child()), so its imports wait for it.
    from django.utils import timezone
    from django_celery_beat.models import PeriodicTask

    queue = f"bench-{uuid.uuid4().hex[:8]}"
    result: dict = {"database": database, "count": count, "scheduler": name, "received": 0}
    # Start LEAD_SECONDS before the first boundary at least that far away.
    now = time.time()
    boundary = (int(now // 60) + 1) * 60
    if boundary - now < LEAD_SECONDS:
        boundary += 60
    time.sleep(max(0.0, boundary - LEAD_SECONDS - time.time()))
    # Every task "just ran": only the boundary's fire is measured, no catch-up fire.
    PeriodicTask.objects.update(last_run_at=timezone.now(), total_run_count=0)

    collector = Collector(queue)
    collector.start()
    log_path = Path(os.environ["TRIGGERFISH_DATA_DIR"]) / f"beat-{name}-{count}.log"
    env = {**os.environ, "CELERY_TASK_DEFAULT_QUEUE": queue}
    started = time.time()
    with log_path.open("w") as log:
        beat = subprocess.Popen(
            beat_command(
                scheduler=SCHEDULERS[name], schedule_file=str(log_path.with_suffix(".schedule"))
            ),
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        cpu_start = process_cpu_seconds(beat.pid) or 0.0
        startup = None
        deadline = boundary + TAIL_SECONDS
        while time.time() < deadline:
            if beat.poll() is not None:
                break
            if startup is None and _loaded(log_path, name):
                startup = time.time() - started
            time.sleep(0.2)
        cpu_end = process_cpu_seconds(beat.pid)
        window = time.time() - started
        exited = beat.poll()
        if exited is None:
            beat.send_signal(signal.SIGTERM)
            try:
                beat.wait(timeout=20)
            except subprocess.TimeoutExpired:
                beat.kill()
                beat.wait()
    collector.stop.set()
    collector.join(timeout=5)
    _queue_purge(queue)

    if exited is not None:
        result["note"] = "crashed: " + _last_error(log_path)
        startup = None
    if cpu_end is not None:
        result["cpu_percent"] = 100.0 * (cpu_end - cpu_start) / window
    result["startup_seconds"] = startup
    lateness = _lateness(collector.received, boundary)
    result["received"] = len(lateness)
    if lateness:
        lateness.sort()
        result["p50"] = statistics.median(lateness)
        result["p99"] = lateness[min(len(lateness) - 1, int(len(lateness) * 0.99))]
        result["max"] = lateness[-1]
    if len(lateness) < count and "note" not in result:
        result["note"] = f"{count - len(lateness):,} fires not sent by B+{TAIL_SECONDS:.0f} s"
    return result


def _loaded(log_path: Path, name: str) -> bool:
    text = log_path.read_text(errors="replace")
    if name == "triggerfish":
        return "TriggerfishScheduler: loaded" in text
    return "beat: Starting..." in text and "Traceback" not in text


def _last_error(log_path: Path) -> str:
    """The exception that stopped beat, e.g. ``OperationalError: Expression tree is too
    large (maximum depth 1000)``."""
    lines = [line.strip() for line in log_path.read_text(errors="replace").splitlines()]
    for line in reversed(lines):
        match = re.match(r"^([\w.]+(?:Error|Exception)): (.+)$", line)
        if match:
            return f"{match[1].rsplit('.', 1)[-1]}: {match[2]}"[:160]
    for line in reversed(lines):
        if "Error" in line:
            return line[-160:]
    return (lines[-1] if lines else "no output")[-160:]


def _lateness(received: list[tuple[float, str, bytes | str]], boundary: float) -> list[float]:
    due = datetime.fromtimestamp(boundary, UTC).isoformat()
    lateness = []
    for arrived, task, body in received:
        if isinstance(body, bytes):
            body = body.decode()
        args, _kwargs, _embed = json.loads(body)
        if task == "triggers.fire_schedule" and arrived >= boundary - 1:
            lateness.append(arrived - boundary)
        elif task == "triggers.fire_schedules":
            lateness.extend(arrived - boundary for item in args[0] if item[3] == due)
    return lateness


def _queue_purge(queue: str) -> None:
    # Django is set up only in the child process (child()), so this import waits for it.
    from config.celery import app

    try:
        with app.connection_for_write() as connection:
            connection.default_channel.queue_delete(queue)
    except Exception:  # noqa: S110 - a leftover bench queue is harmless
        pass


if __name__ == "__main__":
    main()
