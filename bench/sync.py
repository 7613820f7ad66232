"""Sync round trip of a one-step ``flow.return`` flow, beside a bare view, one caller.

    .venv/bin/python bench/sync.py                   # 300 requests per mode
    .venv/bin/python bench/sync.py --requests 100 --no-record

Production setup on loopback: gunicorn (sync workers), PostgreSQL, Redis as broker and
``REDIS_URL`` (so a waiting request wakes on the worker's Redis publish), and a real
``celery -A config worker`` (prefork, two processes: the default on two cores). One client
sends requests one after another on a kept-alive connection, in three modes, interleaved
so each sees the same background load:

* bare: ``POST /bench/bare`` (the baseline: Django parses the JSON and answers an id);
* direct: ``POST /trigger/<token>`` with ``triggerfish-synchronous: true`` and
  ``triggerfish-prefer-direct-sync-response: true``; the worker's result is the body;
* 303 + GET: the same without prefer-direct: the 303 and then the ``GET`` of its signed
  result URL, timed together, as a caller following the redirect experiences it.

Reported: p50/p99 of each, and what sync adds = mode - bare at the same percentile.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.accept import SETUP
from bench.common import BARE_PATH, environment, machine, percentile, record, today

BODY = json.dumps({"event": "ping", "data": {"n": 1}})


def timed(connection: http.client.HTTPConnection, path: str, headers: dict) -> tuple[float, int]:
    started = time.perf_counter()
    connection.request(
        "POST", path, body=BODY, headers={"Content-Type": "application/json", **headers}
    )
    response = connection.getresponse()
    response.read()
    status = response.status
    if status == 303:
        location = urlsplit(response.getheader("Location"))
        connection.request("GET", location.path + (f"?{location.query}" if location.query else ""))
        follow = connection.getresponse()
        follow.read()
        status = follow.status
    return time.perf_counter() - started, status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="per mode")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--label", default="")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()

    print(f"Machine: {machine()}", flush=True)
    with environment("sync") as env:
        token = env.django(SETUP)
        base = env.gunicorn(workers=args.workers)
        env.worker(pool="prefork", concurrency=2)
        host = urlsplit(base)
        connection = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
        hook = f"/trigger/{token}"
        modes = {
            "bare": (BARE_PATH, {}),
            "direct": (
                hook,
                {
                    "triggerfish-synchronous": "true",
                    "triggerfish-prefer-direct-sync-response": "true",
                },
            ),
            "303 + GET": (hook, {"triggerfish-synchronous": "true"}),
        }
        expected = {"bare": 200, "direct": 200, "303 + GET": 200}
        for path, headers in modes.values():  # warm up
            for _ in range(20):
                timed(connection, path, headers)
        samples: dict[str, list[float]] = {name: [] for name in modes}
        wrong: dict[str, int] = dict.fromkeys(modes, 0)
        for _ in range(args.requests):
            for name, (path, headers) in modes.items():
                seconds, status = timed(connection, path, headers)
                samples[name].append(seconds * 1000)
                wrong[name] += status != expected[name]
        figures = {
            name: (percentile(values, 50), percentile(values, 99))
            for name, values in samples.items()
        }
        bare50, bare99 = figures["bare"]
        print(f"\n{args.requests} sequential requests per mode, one kept-alive connection")
        for name, (p50, p99) in figures.items():
            added = "" if name == "bare" else f"; adds {p50 - bare50:.1f} / {p99 - bare99:.1f} ms"
            print(
                f"  {name:10s} p50 {p50:6.1f} ms  p99 {p99:6.1f} ms{added}"
                f"  (unexpected answers: {wrong[name]})"
            )
        direct_added = figures["direct"][0] - bare50
        print(
            f"Direct sync adds {direct_added:.1f} ms at p50 over the bare view: "
            f"{'meets' if direct_added < 15 else 'misses'} the target (< 15 ms)"
        )
        if not args.no_record:
            d50, d99 = figures["direct"]
            r50, r99 = figures["303 + GET"]
            record(
                "sync",
                f"| {today()} | {args.label} | {args.requests} | {bare50:.1f} / {bare99:.1f} ms "
                f"| {d50:.1f} / {d99:.1f} ms | **+{d50 - bare50:.1f}** / +{d99 - bare99:.1f} ms "
                f"| {r50:.1f} / {r99:.1f} ms | +{r50 - bare50:.1f} / +{r99 - bare99:.1f} ms "
                f"| {sum(wrong.values())} |",
            )


if __name__ == "__main__":
    main()
