"""Async webhook accept under load: ``wrk`` against ``/trigger/<token>`` beside a bare view.

    .venv/bin/python bench/accept.py                      # 32 connections, 2 rounds of 10 s
    .venv/bin/python bench/accept.py --connections 8,32,64 --seconds 5 --no-record

Production setup on loopback: ``gunicorn config.wsgi`` (sync workers, ``--workers 4`` by
default), PostgreSQL, Redis as broker and ``REDIS_URL`` (so the rate limiter is Redis's),
the rate limit raised out of the way (``TRIGGERFISH_RATE_LIMIT_PER_SECOND=1000000``). The
flow is a one-step ``flow.return`` on a ``flow_specific`` endpoint with the default
``customer_optional`` security and no keys. No worker runs: accepted executions stay
``queued`` (the bench measures accepting, which is what the caller waits for).

The baseline is ``/bench/bare`` (bench/urls.py), a Django view that parses the same JSON
and answers a JSON id, served by the same gunicorn in the same run. Rounds alternate bare
and webhook so both see the same background load; the median round is reported.

Afterwards every 2xx is matched to its row: the Lua script keeps each executionId, and the
bench checks they are distinct, as many as the 2xx answers, and all stored. Rows beyond
those are requests still in flight when wrk stopped (at most one per connection).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BARE_PATH, environment, machine, record, today, wrk

BODY = json.dumps(
    {
        "event": "order.created",
        "id": "evt_0001",
        "data": {"order": {"id": 1234, "total": "99.50", "currency": "EUR", "items": 3}},
    }
)

SETUP = """
from integrations.definitions import integration_import
from instances.models import Customer
from instances.lifecycle import instance_deploy
from instances.services import instance_create
from instances.models import Endpoint
integration = integration_import(definition={
    "name": "Bench", "endpointType": "flow_specific",
    "flows": [{"name": "Echo", "trigger": {"type": "webhook"},
               "steps": [{"name": "Reply", "action": "flow.return",
                          "inputs": {"data": "{{ trigger.body.data }}"}}]}],
})
customer = Customer.objects.create(name="Bench", external_id="bench")
instance = instance_create(
    integration=integration, customer=customer, name="Main", config_values={}
)
instance_deploy(instance=instance)
result = Endpoint.objects.get(instance=instance).token
"""

COUNT_ROWS = """
from executions.models import Execution
result = Execution.objects.count()
"""


def check_ids(env, ids_path: Path) -> dict:
    ids = [line for line in ids_path.read_text().split() if line]
    ids_path.with_suffix(".json").write_text(json.dumps(ids))
    stored = env.django(
        f"""
import json
from executions.models import Execution
ids = json.load(open({str(ids_path.with_suffix(".json"))!r}))
result = Execution.objects.filter(pk__in=ids).count()
"""
    )
    return {"ids": len(ids), "distinct": len(set(ids)), "stored": stored}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", default="32")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--label", default="", help="a note for the recorded row")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()

    print(f"Machine: {machine()}", flush=True)
    with environment("accept") as env:
        token = env.django(SETUP)
        base = env.gunicorn(workers=args.workers)
        webhook_url = f"{base}/trigger/{token}"
        bare_url = base + BARE_PATH
        # Warm the webhook path too (first queries, the broker connection).
        wrk(webhook_url, connections=4, seconds=2, body=BODY, threads=1)
        for connections in [int(c) for c in args.connections.split(",")]:
            rounds = []
            for round_number in range(args.rounds):
                bare = wrk(bare_url, connections=connections, seconds=args.seconds, body=BODY,
                           threads=args.threads)  # fmt: skip
                rows_before = env.django(COUNT_ROWS)
                ids_path = env.work / f"ids-{connections}-{round_number}.txt"
                hook = wrk(webhook_url, connections=connections, seconds=args.seconds, body=BODY,
                           threads=args.threads, ids_file=ids_path)  # fmt: skip
                rows_after = env.django(COUNT_ROWS)
                check = check_ids(env, ids_path)
                check["rows"] = rows_after - rows_before
                check["ok"] = hook["ok"]
                exact = check["ids"] == check["distinct"] == check["stored"] == hook["ok"]
                in_flight = check["rows"] - hook["ok"]
                check["exact"] = exact and 0 <= in_flight <= connections
                rounds.append({"bare": bare, "hook": hook, "check": check})
                print(
                    f"c={connections} round {round_number + 1}: "
                    f"bare {bare['rps']:.0f} req/s p50 {bare['p50_us'] / 1000:.1f} ms "
                    f"p99 {bare['p99_us'] / 1000:.1f} ms | webhook {hook['rps']:.0f} req/s "
                    f"p50 {hook['p50_us'] / 1000:.1f} ms p99 {hook['p99_us'] / 1000:.1f} ms "
                    f"statuses {hook['statuses']} | ratio {hook['rps'] / bare['rps']:.2f} | "
                    f"rows {check['rows']} for {hook['ok']} 2xx (ids distinct "
                    f"{check['distinct']}, stored {check['stored']}; "
                    f"{in_flight} in flight at the stop) {'OK' if check['exact'] else 'MISMATCH'}",
                    flush=True,
                )
            ranked = sorted(rounds, key=lambda r: r["hook"]["rps"] / r["bare"]["rps"])
            median = ranked[(len(ranked) - 1) // 2]
            bare, hook = median["bare"], median["hook"]
            ratio = hook["rps"] / bare["rps"]
            every_exact = all(r["check"]["exact"] for r in rounds)
            verdict = (
                "meets" if ratio >= 0.5 and hook["p99_us"] < 25_000 else "misses"
            ) + " the target (≥ 0.5 x bare, p99 < 25 ms at 32 connections)"
            print(
                f"\nAccept, {connections} connections (median of {len(rounds)} rounds by ratio): "
                f"webhook {hook['rps']:.0f} req/s, p50 {hook['p50_us'] / 1000:.1f} ms, "
                f"p99 {hook['p99_us'] / 1000:.1f} ms; bare view {bare['rps']:.0f} req/s, "
                f"p50 {bare['p50_us'] / 1000:.1f} ms, p99 {bare['p99_us'] / 1000:.1f} ms; "
                f"ratio {ratio:.2f}; every 2xx has exactly one row: {every_exact}; {verdict}",
                flush=True,
            )
            print("statistics: ratios per round",
                  [round(r["hook"]["rps"] / r["bare"]["rps"], 2) for r in rounds],
                  "median", round(statistics.median(
                      r["hook"]["rps"] / r["bare"]["rps"] for r in rounds), 2))  # fmt: skip
            if not args.no_record:
                record(
                    "accept",
                    f"| {today()} | {args.label} | {connections} | {args.workers} "
                    f"| {hook['rps']:.0f} | {hook['p50_us'] / 1000:.1f} ms "
                    f"| {hook['p99_us'] / 1000:.1f} ms | {bare['rps']:.0f} "
                    f"| {bare['p50_us'] / 1000:.1f} ms | {bare['p99_us'] / 1000:.1f} ms "
                    f"| **{ratio:.2f}** | {'yes' if every_exact else '**no**'} |",
                )


if __name__ == "__main__":
    main()
