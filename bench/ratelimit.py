"""Rate limiter: the cost of one check, and exactness with four processes on one token.

    .venv/bin/python bench/ratelimit.py                  # Redis and the file backend
    .venv/bin/python bench/ratelimit.py --backends file --no-record

For each backend (Redis at 127.0.0.1:6379 db 13 via ``REDIS_URL``; the file backend under
a temporary data folder, as the embedded default runs):

* overhead: ``rate_limit_hit`` called in a loop in-process (limit out of the way), µs per
  call, beside a baseline measured in the same run: a bare Redis ``GET`` with the same
  client library for Redis, an ``os.open``/``os.close`` of a file in the same folder for
  the file backend;
* exactness: four processes hammer one token with the limit at 50/s for a few seconds,
  stamping every allowed request; the most allowed in any sliding one-second window must
  be at most 50, and the total near 50 per second (none lost to the counting).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import django
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REDIS_URL, ROOT, machine, record, today

LIMIT = 50
PROCESSES = 4


def _setup() -> None:
    django.setup()


def _hammer(token: str, seconds: float, start_at: float, queue) -> None:
    _setup()
    # After django.setup() in this spawned process: the limiter reads Django's settings.
    from triggers.webhooks.ratelimit import rate_limit_hit

    allowed, refused = [], 0
    while time.time() < start_at:
        time.sleep(0.001)
    while time.time() < start_at + seconds:
        before = time.time()
        if rate_limit_hit(token=token, limit=LIMIT).allowed:
            allowed.append((before, time.time()))
        else:
            refused += 1
    queue.put((allowed, refused))


def max_in_window(calls: list[tuple[float, float]], window: float = 1.0) -> int:
    """The most allowed calls certainly inside one window: the limiter took its own time
    somewhere between a call's start and return, so a call counts in [s, s + window) only
    when both ends fall in it (the start and return stamps come from four processes)."""
    best = 0
    for start, _ in calls:
        inside = sum(1 for b, a in calls if b >= start and a < start + window)
        best = max(best, inside)
    return best


def child(backend: str, calls: int, seconds: float) -> dict:
    _setup()
    # After django.setup() in this child: the limiter reads Django's settings.
    from django.conf import settings

    from triggers.webhooks.ratelimit import rate_limit_hit

    token = f"bench-{os.getpid()}"
    rate_limit_hit(token=token, limit=10**9)  # connect / create the file
    started = time.perf_counter()
    for _ in range(calls):
        rate_limit_hit(token=token, limit=10**9)
    limiter_us = (time.perf_counter() - started) / calls * 1e6
    if backend == "redis":
        client = redis.Redis.from_url(settings.REDIS_URL)
        client.get("warm")
        started = time.perf_counter()
        for _ in range(calls):
            client.get(f"triggerfish:rate:{token}-baseline")
        baseline_us = (time.perf_counter() - started) / calls * 1e6
        baseline = "Redis GET"
    else:
        path = Path(settings.TRIGGERFISH_DATA_DIR) / "baseline-file"
        started = time.perf_counter()
        for _ in range(calls):
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        baseline_us = (time.perf_counter() - started) / calls * 1e6
        baseline = "os.open + os.close"

    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    exact_token = f"bench-exact-{os.getpid()}"
    start_at = time.time() + 3.0  # after every child has set Django up
    hammers = [
        context.Process(target=_hammer, args=(exact_token, seconds, start_at, queue))
        for _ in range(PROCESSES)
    ]
    for process in hammers:
        process.start()
    results = [queue.get(timeout=seconds + 60) for _ in hammers]
    for process in hammers:
        process.join()
    stamps = [stamp for allowed, _ in results for stamp in allowed]
    refused = sum(r for _, r in results)
    if backend == "redis":
        redis.Redis.from_url(settings.REDIS_URL).delete(
            f"triggerfish:rate:{token}", f"triggerfish:rate:{exact_token}"
        )
    return {
        "backend": backend,
        "limiter_us": limiter_us,
        "baseline": baseline,
        "baseline_us": baseline_us,
        "allowed": len(stamps),
        "refused": refused,
        # The Redis limiter keeps its window in whole milliseconds; 1 ms less is its second.
        "max_window": max_in_window(stamps, 0.999 if backend == "redis" else 1.0),
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="redis,file")
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--label", default="")
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(child(args.child, args.calls, args.seconds)), flush=True)
        return

    print(f"Machine: {machine()}", flush=True)
    for backend in args.backends.split(","):
        work = tempfile.mkdtemp(prefix="tf-bench-ratelimit-")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PYTHONPATH": str(ROOT),
            "TRIGGERFISH_DATA_DIR": work,
            "REDIS_URL": REDIS_URL if backend == "redis" else "",
        }
        try:
            output = subprocess.run(
                [
                    *(sys.executable, __file__, "--child", backend),
                    *("--calls", str(args.calls), "--seconds", str(args.seconds)),
                ],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=True,
                timeout=args.seconds + 180,
            ).stdout
        finally:
            shutil.rmtree(work, ignore_errors=True)
        result = json.loads(next(ln[7:] for ln in output.splitlines() if ln.startswith("RESULT ")))
        exact = result["max_window"] <= LIMIT
        per_second = result["allowed"] / result["seconds"]
        ratio = result["limiter_us"] / result["baseline_us"]
        print(
            f"{backend}: {result['limiter_us']:.0f} µs per check vs {result['baseline']} "
            f"{result['baseline_us']:.0f} µs (ratio {ratio:.1f}); "
            f"{PROCESSES} processes, limit {LIMIT}/s, {result['seconds']:.0f} s: "
            f"{result['allowed']} allowed ({per_second:.1f}/s), {result['refused']} refused, "
            f"most in any 1 s window {result['max_window']} -> {'exact' if exact else 'OVER'}",
            flush=True,
        )
        if not args.no_record:
            record(
                "ratelimit",
                f"| {today()} | {args.label} | {backend} | **{result['limiter_us']:.0f} µs** "
                f"| {result['baseline']} {result['baseline_us']:.0f} µs "
                f"| {result['allowed']} in {result['seconds']:.0f} s ({per_second:.1f}/s) "
                f"| {result['max_window']} ≤ {LIMIT}: {'yes' if exact else '**no**'} |",
            )


if __name__ == "__main__":
    main()
