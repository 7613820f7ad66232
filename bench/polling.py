"""Polling benchmark: N instances of a polling integration, each polling a loopback source
every minute, beside N plain schedule fires in the same run, through real beat and workers.

    .venv/bin/python bench/polling.py                         # SQLite, N = 1,000, 2 minutes
    .venv/bin/python bench/polling.py --database sqlite,postgres --json
    .venv/bin/python bench/polling.py --instances 100 --minutes 1   # a quick run

Per database: N instances of an ``http.poll`` flow (cron ``* * * * *``, ``onDeploy:
backfill``, one ``flow.return`` step) deployed as the product deploys them, each asking
``/items/<instance id>?since=<cursor>`` of a threaded HTTP server in this process; whenever
a poll has read everything, the server first adds 0-5 new items to that instance's list
(seeded, so every run serves the same items). Beside them, N instances of a schedule flow
with the same cron and step: the baseline. Then a real ``celery beat`` with the
``TriggerfishScheduler`` and real worker processes (threads pool) run for ``--minutes``
minute boundaries, executions included. Measured:

* poll start lateness = the source receiving the poll's request - the fire's scheduled
  time (each instance's requests matched in order to its claimed fires);
* item latency = the item's execution row created - the source finishing the answer that
  first carried it (loopback: the worker receives it within a millisecond);
* baseline = a plain schedule fire's claim (``ScheduleFire.created_at``, committed with
  its execution) - its scheduled time; the polls' claims are shown beside it;
* items never started and items started twice; worker and beat CPU over the run.

Broker: Redis db 12 of 127.0.0.1:6379 with a queue of its own. Results go to stdout as a
table (and JSON with ``--json``). A run takes about ``--minutes`` + 2 minutes plus the
deploys (≈ 1 minute for 2 x 1,000 on SQLite).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import django
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import _pg, machine, percentile, process_cpu_seconds  # noqa: E402 - the checkout is on sys.path only now
from bench.poll_source import ItemSource  # noqa: E402 - as above
from core.processes import beat_command, worker_command  # noqa: E402 - as above

REDIS_URL = "redis://127.0.0.1:6379/12"  # away from the other benches' dbs 13 and 14
SCHEDULER = "triggers.schedules.scheduler:TriggerfishScheduler"
LEAD_SECONDS = 20.0  # beat and workers start this long before the first boundary
STOP_BEFORE_NEXT_SECONDS = 5.0  # beat stops this long before the boundary after the last
DRAIN_SECONDS = 120.0  # then the workers get at most this long to finish what was fired


# Parent: one child process per database ---------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="sqlite", help="sqlite, postgres, or both (a,b)")
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--minutes", type=int, default=2, help="minute boundaries measured")
    parser.add_argument("--processes", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=4, help="threads per worker")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    print(f"Machine: {machine()}", flush=True)
    results = []
    for database in args.database.split(","):
        work = Path(tempfile.mkdtemp(prefix="tf-bench-polling-"))
        queue = f"bench-polling-{os.getpid()}"
        env = {
            **os.environ,
            "TRIGGERFISH_DATA_DIR": str(work),
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "CELERY_BROKER_URL": REDIS_URL,
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "LOG_LEVEL": "WARNING",
        }
        env.pop("CELERY_BEAT_SCHEDULER", None)
        pg_name = None
        if database == "sqlite":
            env["DATABASE_URL"] = f"sqlite:///{work / 'bench.sqlite3'}"
        elif database == "postgres":
            pg_name = f"triggerfish_bench_polling_{os.getpid()}"
            _pg(f'CREATE DATABASE "{pg_name}"')
            env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{pg_name}"
        else:
            parser.error(f"unknown database {database!r}")
        argv = [sys.executable, __file__, "--child", database]
        for option in ("instances", "minutes", "processes", "concurrency"):
            argv += [f"--{option}", str(getattr(args, option))]
        try:
            with subprocess.Popen(
                argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True
            ) as child_process:
                assert child_process.stdout is not None
                for line in child_process.stdout:
                    if line.startswith("RESULT "):
                        results.append(json.loads(line[7:]))
                    else:
                        print(line.rstrip("\n"), flush=True)
            if child_process.returncode:
                raise SystemExit(f"the {database} run failed ({child_process.returncode})")
        finally:
            redis.Redis.from_url(REDIS_URL).delete(queue)  # what the workers left unread
            shutil.rmtree(work, ignore_errors=True)
            if pg_name:
                _pg(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    print()
    print(table(results))
    if args.json:
        print(json.dumps(results, indent=2))


def table(results: list[dict]) -> str:
    lines = [
        "| database | N | what | count | p50 | p99 | max | note |",
        "|" + " --- |" * 8,
    ]
    for r in results:
        for key, label in (
            ("poll_start", "poll start - due"),
            ("item", "item: execution created - answer"),
            ("poll_claim", "poll fire claimed - due"),
            ("baseline", "baseline: schedule fire claimed - due"),
        ):
            figures = r[key]
            if not figures["count"]:
                cells = "— | — | —"
            else:
                cells = " | ".join(f"{figures[q] * 1000:,.0f} ms" for q in ("p50", "p99", "max"))
            lines.append(
                f"| {r['database']} | {r['instances']:,} | {label} | {figures['count']:,} "
                f"| {cells} | {figures.get('note', '')} |"
            )
    return "\n".join(lines)


def summary(values: list[float], **extra: Any) -> dict[str, Any]:
    if not values:
        return {"count": 0, **extra}
    return {
        "count": len(values),
        "p50": percentile(values, 50),
        "p99": percentile(values, 99),
        "max": max(values),
        **extra,
    }


# Child: Django set up on the bench database ---------------------------------------------


def flow_definition(name: str, trigger: dict[str, Any]) -> dict[str, Any]:
    step = {"name": "Reply", "action": "flow.return", "inputs": {"data": "ok"}}
    return {"name": name, "flows": [{"name": "Sync", "trigger": trigger, "steps": [step]}]}


def child(args: argparse.Namespace) -> None:
    django.setup()
    # After django.setup(): Django's and the product's modules need the app registry.
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    source = ItemSource()
    started = time.time()
    polling, plain = instances_deploy(source, args.instances)
    took = time.time() - started
    print(f"[{args.child}] deployed 2 x {args.instances:,} instances in {took:.0f} s", flush=True)
    result = run(args, source, polling, plain)
    print("RESULT " + json.dumps(result), flush=True)


def instances_deploy(source: ItemSource, count: int) -> tuple[list[str], list[str]]:
    # Django is set up only in the child process (child()), so its imports wait for it.
    from instances.lifecycle import instance_deploy
    from instances.models import Customer
    from instances.services import instance_create
    from integrations.definitions import integration_import

    cron = {"cron": "* * * * *"}
    poll = integration_import(
        definition=flow_definition(
            "Bench Poll",
            {
                "type": "http.poll",
                "schedule": cron,
                "onDeploy": "backfill",
                "inputs": {
                    "url": source.base_url + "/items/{{ instance.id }}",
                    "queryParameters": {"since": "{{ poll.cursor }}"},
                    "itemsPath": "items",
                    "itemIdPath": "id",
                    "cursorPath": "next",
                },
            },
        )
    )
    schedule = integration_import(
        definition=flow_definition("Bench Schedule", {"type": "schedule", "schedule": cron})
    )
    customer = Customer.objects.create(name="Bench Customer")
    ids: tuple[list[str], list[str]] = ([], [])
    for integration, kept in ((poll, ids[0]), (schedule, ids[1])):
        for n in range(count):
            instance = instance_create(integration=integration, customer=customer, name=f"I{n}")
            instance_deploy(instance=instance)
            kept.append(str(instance.pk))
    return ids


def run(args: argparse.Namespace, source: ItemSource, polling: list[str], plain: list[str]) -> dict:
    # Django is set up only in the child process (child()), so its imports wait for it.
    from django.utils import timezone
    from django_celery_beat.models import PeriodicTask

    work = Path(os.environ["TRIGGERFISH_DATA_DIR"])
    now = time.time()
    first = (int(now // 60) + 1) * 60
    if first - now < LEAD_SECONDS:
        first += 60
    last = first + 60 * (args.minutes - 1)
    time.sleep(max(0.0, first - LEAD_SECONDS - time.time()))
    # Every task "just ran": only the measured boundaries fire, no catch-up fire.
    PeriodicTask.objects.update(last_run_at=timezone.now())
    processes = []
    for n in range(args.processes):
        log = (work / f"worker-{n}.log").open("w")
        argv = worker_command(
            pool="threads", concurrency=args.concurrency, hostname=f"bench{n}@%h", standalone=True
        )
        processes.append(subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
    beat_log = (work / "beat.log").open("w")
    beat = subprocess.Popen(
        beat_command(scheduler=SCHEDULER), cwd=ROOT, stdout=beat_log, stderr=subprocess.STDOUT
    )
    cpu_start = {p.pid: process_cpu_seconds(p.pid) or 0.0 for p in [*processes, beat]}
    clock_start = time.time()
    time.sleep(max(0.0, last + 60 - STOP_BEFORE_NEXT_SECONDS - time.time()))
    beat_cpu = (process_cpu_seconds(beat.pid) or 0.0) - cpu_start[beat.pid]
    beat.terminate()
    beat.wait(timeout=30)
    expected = len(polling) * args.minutes
    drain(expected_fires=2 * expected, deadline=time.time() + DRAIN_SECONDS)
    elapsed = time.time() - clock_start
    worker_cpu = sum((process_cpu_seconds(p.pid) or 0.0) - cpu_start[p.pid] for p in processes)
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=30)
    result = measure(source, polling, plain, first=first, last=last)
    result.update(
        database=args.child,
        instances=len(polling),
        minutes=args.minutes,
        processes=args.processes,
        concurrency=args.concurrency,
        worker_cpu_percent=100.0 * worker_cpu / elapsed,
        beat_cpu_percent=100.0 * beat_cpu / (last + 60 - STOP_BEFORE_NEXT_SECONDS - clock_start),
    )
    return result


def drain(*, expected_fires: int, deadline: float) -> None:
    """Wait until every fire is claimed and no execution is queued or running (or the
    deadline passes)."""
    # Django is set up only in the child process (child()), so its imports wait for it.
    from executions.models import Execution, ExecutionStatus
    from triggers.models import ScheduleFire

    unfinished = (ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)
    while time.time() < deadline:
        if ScheduleFire.objects.count() >= expected_fires:
            if not Execution.objects.filter(status__in=unfinished).exists():
                return
        time.sleep(0.5)


def measure(
    source: ItemSource, polling: list[str], plain: list[str], *, first: int, last: int
) -> dict:
    # Django is set up only in the child process (child()), so its imports wait for it.
    from django.db.models import Count, Max

    from executions.models import Execution, TriggerKind
    from triggers.models import ScheduleFire

    window = (datetime.fromtimestamp(first, UTC), datetime.fromtimestamp(last, UTC))
    fires: dict[str, list[tuple[float, float]]] = {}
    for instance_id, scheduled, claimed in ScheduleFire.objects.filter(
        scheduled_time__range=window
    ).values_list("instance_id", "scheduled_time", "created_at"):
        fires.setdefault(str(instance_id), []).append((scheduled.timestamp(), claimed.timestamp()))
    poll_set = set(polling)
    baseline = [c - s for i, rows in fires.items() if i not in poll_set for s, c in rows]
    poll_claim = [c - s for i, rows in fires.items() if i in poll_set for s, c in rows]
    requests: dict[str, list[tuple[float, float, list[str]]]] = {}
    for key, received, answered, ids in source.log:
        requests.setdefault(key, []).append((received, answered, ids))
    poll_start = []
    answered_at: dict[str, float] = {}
    for key in polling:
        due = sorted(fires.get(key, []))
        for (scheduled, _claimed), (received, _answered, _ids) in zip(
            due, sorted(requests.get(key, [])), strict=False
        ):
            poll_start.append(received - scheduled)
        for _received, answered, ids in sorted(requests.get(key, [])):
            for item_id in ids:
                answered_at.setdefault(item_id, answered)
    created: dict[str, list[float]] = {}
    for payload, created_at in (
        Execution.objects.filter(trigger_kind=TriggerKind.POLL)
        .values_list("trigger_payload", "created_at")
        .iterator()
    ):
        item_id = payload.get("body", {}).get("data", {}).get("id")
        created.setdefault(item_id, []).append(created_at.timestamp())
    item = [min(created[i]) - at for i, at in answered_at.items() if i in created]
    missing = sum(1 for i in answered_at if i not in created)
    twice = sum(1 for times in created.values() if len(times) > 1)
    statuses = dict(
        Execution.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    expected = len(polling) * ((last - first) // 60 + 1)
    done = Execution.objects.aggregate(Max("ended_at"))["ended_at__max"]
    return {
        "last_run_ended_after_last_due": done.timestamp() - last if done else None,
        "poll_start": summary(poll_start, note=f"{len(poll_start):,} of {expected:,} polls due"),
        "item": summary(
            item,
            note=f"{len(answered_at):,} served; {missing:,} not started; {twice:,} twice",
        ),
        "poll_claim": summary(poll_claim),
        "baseline": summary(baseline, note=f"of {expected:,} due"),
        "statuses": statuses,
    }


if __name__ == "__main__":
    main()
