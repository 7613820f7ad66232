"""Where an accepted webhook's CPU goes, by part, beside a bare Django view.

    .venv/bin/python bench/accept_costs.py                 # 2,000 requests per measure
    .venv/bin/python bench/accept_costs.py --requests 5000 --no-record

On a machine whose cores are all busy (the accept bench's load), throughput is CPU per
request, summed over every process that serves it: the web process, its PostgreSQL backend
and Redis. This bench measures those three, in one Django process calling the WSGI
handler directly (no HTTP server, no load generator, so nothing else moves the figures):

- the bare view (bench/urls.py) and the webhook accept (``/trigger/<token>``: route, rate
  limit, store, enqueue), each as a whole;
- the parts an accept cannot do without, each alone and as cheaply as its library allows:
  the row's INSERT through raw psycopg (autocommit, the same columns and payload size), the
  broker message as a raw Redis ``LPUSH`` of a message of the same size, and the rate
  limiter's script.

CPU: the process's own ``process_time``; the backend's utime + stime from
``/proc/<pg_backend_pid>/stat``; Redis's ``used_cpu_user + used_cpu_sys`` from ``INFO``.
Both servers run on this machine (127.0.0.1), as in the accept bench.

Then the bare view served by one gunicorn sync worker, requests one at a time, the
worker's CPU read from ``/proc``: what HTTP and the worker loop add to every request, the
webhook's as much as the bare view's. Ratios are given served (that cost added to both).

The *ceiling* is the served ratio an accept would reach if it cost nothing beyond the parts
alone: (bare + HTTP) / (bare + HTTP + parts). No implementation that stores each accepted
request durably, enqueues it and rate-limits it across processes, one request at a time,
can beat it on this stack; the webhook's own ratio says how close the product is. Run by
hand; a dated row goes into docs/performance.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.accept import BODY, SETUP
from bench.common import (
    BARE_PATH,
    environment,
    machine,
    process_cpu_seconds,
    record,
    today,
)

MEASURE = r"""
import io, json, os, time, uuid
import psycopg, redis
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test import RequestFactory

from executions.models import Execution
from bench.common import process_cpu_seconds
from triggers.webhooks.ratelimit import rate_limit_hit

handler = WSGIHandler()
factory = RequestFactory(HTTP_HOST="127.0.0.1")
server = redis.Redis.from_url(settings.REDIS_URL)


def redis_cpu():
    info = server.info("cpu")
    return info["used_cpu_user"] + info["used_cpu_sys"]


def measure(call, n, backend_pid):
    for _ in range(min(200, n)):
        call()
    process, backend, store = time.process_time(), process_cpu_seconds(backend_pid), redis_cpu()
    for _ in range(n):
        call()
    return {
        "web": (time.process_time() - process) / n * 1e6,
        "postgres": (process_cpu_seconds(backend_pid) - backend) / n * 1e6,
        "redis": (redis_cpu() - store) / n * 1e6,
    }


def wsgi_post(path):
    environ = factory.post(path, BODY, content_type="application/json").environ

    payload = BODY.encode()

    def call():
        status = []
        request = {**environ, "wsgi.input": io.BytesIO(payload)}
        body = b"".join(handler(request, lambda s, h: status.append(s)))
        assert status[0].startswith("200"), (status, body[:200])

    return call


connection.ensure_connection()
with connection.cursor() as cursor:
    cursor.execute("SELECT pg_backend_pid()")
    django_backend = cursor.fetchone()[0]

figures = {}
figures["bare view"] = measure(wsgi_post("/bench/bare"), N, django_backend)
figures["webhook accept"] = measure(wsgi_post("/trigger/" + TOKEN), N, django_backend)

# The parts alone. A row like the webhook's, payload included, through raw psycopg.
sample = Execution.objects.order_by("-created_at").first()
columns = [
    f.column for f in Execution._meta.concrete_fields
    if getattr(sample, f.attname) is not None
]
values = [
    f.get_db_prep_save(getattr(sample, f.attname), connection)
    for f in Execution._meta.concrete_fields
    if getattr(sample, f.attname) is not None
]
id_index = columns.index("id")
raw = psycopg.connect(
    f"postgresql://postgres@127.0.0.1:5432/{settings.DATABASES['default']['NAME']}",
    autocommit=True,
)
raw_backend = raw.execute("SELECT pg_backend_pid()").fetchone()[0]
insert = (
    f"INSERT INTO executions_execution ({', '.join(columns)}) "
    f"VALUES ({', '.join(['%s'] * len(columns))})"
)


def raw_insert():
    row = list(values)
    row[id_index] = uuid.uuid4()
    raw.execute(insert, row)


figures["part: INSERT (raw psycopg)"] = measure(raw_insert, N, raw_backend)
message = json.dumps({"body": "x" * 900, "headers": {}, "properties": {}})
queue = f"bench-costs-{os.getpid()}"
figures["part: LPUSH (raw redis-py)"] = measure(
    lambda: server.lpush(queue, message), N, raw_backend
)
server.delete(queue)
figures["part: rate limiter"] = measure(
    lambda: rate_limit_hit(token="bench-costs", limit=10**9), N, raw_backend
)
result = {"figures": figures}
"""


def served_bare_cpu(env, requests: int) -> float:
    """CPU per request of the bare view served by one gunicorn sync worker (HTTP parsing,
    the socket, the worker loop included), in µs: what every request costs before any
    view code, the same for the webhook."""
    base = env.gunicorn(workers=1)
    master = env.processes[-1].pid
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    worker = int(children[0])
    host = urlsplit(base)
    body = BODY.encode()

    def post() -> None:
        connection = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
        connection.request(
            "POST", BARE_PATH, body=body, headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        response.read()
        connection.close()
        assert response.status == 200, response.status

    for _ in range(100):
        post()
    before = process_cpu_seconds(worker)
    for _ in range(requests):
        post()
    return (process_cpu_seconds(worker) - before) / requests * 1e6


def total(figure: dict) -> float:
    return figure["web"] + figure["postgres"] + figure["redis"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="per measure")
    parser.add_argument("--label", default="")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()

    print(f"Machine: {machine()}", flush=True)
    with environment("costs") as env:
        token = env.django(SETUP)
        result = env.django(f"TOKEN = {token!r}\nBODY = {BODY!r}\nN = {args.requests}\n" + MEASURE)
        served = served_bare_cpu(env, args.requests)
    figures = result["figures"]
    print(
        f"\nCPU per request, µs ({args.requests} each, one process, WSGI handler called directly)"
    )
    print(f"  {'':30s} {'web':>7s} {'postgres':>9s} {'redis':>7s} {'total':>7s}")
    for name, figure in figures.items():
        print(
            f"  {name:30s} {figure['web']:7.0f} {figure['postgres']:9.0f} "
            f"{figure['redis']:7.0f} {total(figure):7.0f}"
        )
    bare = total(figures["bare view"])
    webhook = total(figures["webhook accept"])
    parts = sum(total(figure) for name, figure in figures.items() if name.startswith("part:"))
    ratio = bare / webhook
    # Served over HTTP, both pay what the server costs beyond the view: add it to both.
    http_cost = max(served - bare, 0.0)
    served_ratio = (bare + http_cost) / (webhook + http_cost)
    ceiling = (bare + http_cost) / (bare + http_cost + parts)
    print(
        f"\nServed by gunicorn, the bare view costs {served:.0f} µs of the worker's CPU per "
        f"request: {http_cost:.0f} µs of HTTP and worker loop on top of the view."
    )
    print(
        f"CPU ratio bare / webhook: {ratio:.2f} at the view, {served_ratio:.2f} served (what a "
        f"saturated machine's throughput ratio tends to). Ceiling with the parts alone and "
        f"nothing else, served: {ceiling:.2f}. The webhook spends "
        f"{webhook - bare - parts:.0f} µs beyond the bare view and the parts."
    )
    print(
        json.dumps(
            {
                "ratio": round(ratio, 3),
                "served_ratio": round(served_ratio, 3),
                "ceiling": round(ceiling, 3),
            }
        )
    )
    if not args.no_record:
        record(
            "accept-costs",
            f"| {today()} | {args.label} | {total(figures['bare view']):.0f} "
            f"| {webhook:.0f} ({figures['webhook accept']['web']:.0f} / "
            f"{figures['webhook accept']['postgres']:.0f} / "
            f"{figures['webhook accept']['redis']:.0f}) "
            f"| {total(figures['part: INSERT (raw psycopg)']):.0f} "
            f"| {total(figures['part: LPUSH (raw redis-py)']):.0f} "
            f"| {total(figures['part: rate limiter']):.0f} | {http_cost:.0f} "
            f"| **{served_ratio:.2f}** | {ceiling:.2f} |",
        )


if __name__ == "__main__":
    main()
