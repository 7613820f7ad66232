"""Execution throughput: executions of a three-step flow completed per second by one
worker process, and by two, beside a no-op Celery task through the same workers.

    .venv/bin/python bench/throughput.py                  # 600 executions per setting
    .venv/bin/python bench/throughput.py --executions 200 --no-record

PostgreSQL and Redis (broker and ``REDIS_URL``) on loopback. The flow: ``text.split`` →
``log.write`` → ``flow.return``. For each setting (1 worker process, 2 worker processes;
each ``celery -A config worker -P solo``, i.e. one process that runs one task at a time):

1. baseline: N ``bench.noop`` tasks are queued, the workers start, and the rate is N over
   the span between the first and last "succeeded" in the workers' logs (Celery's own
   ceiling on this machine: broker round trip, ack, logging);
2. N executions are created and queued (``execution_enqueue``), the workers start, and the
   rate is N over first ``started_at`` to last ``ended_at`` in the database.

Queuing everything before the workers start means the figure is the workers' pace, not
the publisher's. Both stop when done or after a deadline (then the count done is shown).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import environment, machine, record, today

SETUP = """
from integrations.definitions import integration_import
from instances.models import Customer
from instances.lifecycle import instance_deploy
from instances.services import instance_create
integration = integration_import(definition={
    "name": "Bench", "endpointType": "flow_specific",
    "flows": [{"name": "Three", "trigger": {"type": "webhook"}, "steps": [
        {"name": "Split", "action": "text.split",
         "inputs": {"text": "{{ trigger.body.data.csv }}", "separator": ","}},
        {"name": "Log", "action": "log.write",
         "inputs": {"level": "info", "message": "got {{ steps.Split }}"}},
        {"name": "Reply", "action": "flow.return", "inputs": {"data": "{{ steps.Split }}"}},
    ]}],
})
customer = Customer.objects.create(name="Bench", external_id="bench")
instance = instance_create(
    integration=integration, customer=customer, name="Main", config_values={}
)
instance_deploy(instance=instance)
result = str(instance.pk)
"""

QUEUE_EXECUTIONS = """
from executions.broker import execution_enqueue
from executions.models import Execution
from executions.services import execution_create
from instances.models import Instance
instance = Instance.objects.select_related("integration", "customer").get(pk={instance_id!r})
flow = instance.integration.flows.get(name="Three")
ids = [
    execution_create(
        instance=instance, flow=flow, trigger_kind="webhook",
        payload={{"body": {{"data": {{"csv": "a,b,c,d"}}}}}}, enqueue=False,
    ).pk
    for _ in range({count})
]
for execution_id in ids:
    execution_enqueue(execution_id=execution_id)
result = [str(i) for i in ids]
"""

PROGRESS = """
from django.db.models import Max, Min
from executions.models import FINISHED_STATUSES, Execution
rows = Execution.objects.filter(pk__in={ids!r})
done = rows.filter(status__in=FINISHED_STATUSES)
span = done.aggregate(first=Min("started_at"), last=Max("ended_at"))
result = {{
    "done": done.count(),
    "succeeded": rows.filter(status="succeeded").count(),
    "seconds": (span["last"] - span["first"]).total_seconds() if span["first"] else None,
}}
"""

QUEUE_NOOPS = """
from bench.tasks import noop
for index in range({count}):
    noop.delay(index)
result = {count}
"""

STAMP = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): INFO.*bench\.noop\[.*succeeded")


def noop_span(logs: list[Path]) -> tuple[int, float | None]:
    stamps = []
    for log in logs:
        for line in log.read_text().splitlines():
            match = STAMP.match(line)
            if match:
                stamps.append(datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f"))
    if len(stamps) < 2:
        return len(stamps), None
    return len(stamps), (max(stamps) - min(stamps)).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executions", type=int, default=600)
    parser.add_argument("--processes", default="1,2")
    parser.add_argument("--deadline", type=float, default=120.0, help="seconds per setting")
    parser.add_argument("--label", default="")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    count = args.executions

    print(f"Machine: {machine()}", flush=True)
    with environment("throughput") as env:
        instance_id = env.django(SETUP)
        for processes in [int(p) for p in args.processes.split(",")]:
            # Baseline: no-op tasks through the same workers.
            env.django(QUEUE_NOOPS.format(count=count))
            names = [f"noop{processes}-{n}" for n in range(processes)]
            workers = [env.worker(pool="solo", name=name) for name in names]
            logs = [env.work / f"worker-{name}.log" for name in names]
            deadline = time.monotonic() + args.deadline
            while noop_span(logs)[0] < count and time.monotonic() < deadline:
                time.sleep(0.2)
            for worker in workers:
                env.forget(worker)
            noops_done, noop_seconds = noop_span(logs)
            noop_rate = noops_done / noop_seconds if noop_seconds else 0.0

            ids = env.django(QUEUE_EXECUTIONS.format(instance_id=instance_id, count=count))
            workers = [
                env.worker(pool="solo", name=f"run{processes}-{n}") for n in range(processes)
            ]
            deadline = time.monotonic() + args.deadline
            while True:
                progress = env.django(PROGRESS.format(ids=ids))
                if progress["done"] >= count or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            for worker in workers:
                env.forget(worker)
            rate = progress["done"] / progress["seconds"] if progress["seconds"] else 0.0
            print(
                f"{processes} worker process(es): {rate:.1f} executions/s "
                f"({progress['done']}/{count} done, {progress['succeeded']} succeeded, "
                f"{progress['seconds']:.1f} s); no-op tasks {noop_rate:.0f}/s "
                f"({noops_done}/{count}); ratio {rate / noop_rate if noop_rate else 0:.3f}",
                flush=True,
            )
            if not args.no_record:
                record(
                    "throughput",
                    f"| {today()} | {args.label} | {processes} | {count} "
                    f"| **{rate:.1f}** | {progress['succeeded']}/{count} | {noop_rate:.0f} "
                    f"| {rate / noop_rate if noop_rate else 0:.3f} |",
                )


if __name__ == "__main__":
    main()
