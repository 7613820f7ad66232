"""The command lines of the three production processes: gunicorn serving ``config.wsgi``,
a Celery worker and Celery beat, each run with this interpreter (``python -m ...``).

``manage.py serve`` runs them as its children (``ops.supervisor``); the benches and the
test fixtures start them the same way, each naming only the options it needs. Only argv
lists are built here: the caller chooses the environment, folder and output.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from gunicorn.config import KNOWN_SETTINGS

CELERY_APP = "config"
WSGI_APP = "config.wsgi"


def _gunicorn_control_socket_off() -> list[str]:
    """Newer gunicorn opens a control socket at one fixed path in the home folder; two
    servers on one machine (or a test beside a developer's server) would fight over it."""
    if any(setting.name == "control_socket_disable" for setting in KNOWN_SETTINGS):
        return ["--no-control-socket"]
    return []


def web_command(
    bind: str,
    *,
    workers: int,
    worker_class: str = "sync",
    threads: int | None = None,
    timeout: int | None = None,
    graceful_timeout: int | None = None,
    log_level: str | None = None,
    access_log: bool = False,
    logger_class: str | None = None,
) -> list[str]:
    """``gunicorn config.wsgi`` bound to ``bind`` (``host:port``, ``[v6]:port``)."""
    argv = [sys.executable, "-m", "gunicorn", WSGI_APP, "--bind", bind]
    argv += ["--workers", str(workers), "--worker-class", worker_class]
    if threads is not None:
        argv += ["--threads", str(threads)]
    if timeout is not None:
        argv += ["--timeout", str(timeout)]
    if graceful_timeout is not None:
        argv += ["--graceful-timeout", str(graceful_timeout)]
    if log_level is not None:
        argv += ["--log-level", log_level]
    if access_log:
        argv += ["--access-logfile", "-"]
    argv += _gunicorn_control_socket_off()
    if logger_class is not None:
        argv += ["--logger-class", logger_class]
    return argv


def worker_command(
    *,
    pool: str | None = None,
    concurrency: int | None = None,
    queues: Sequence[str] = (),
    hostname: str | None = None,
    include: Sequence[str] = (),
    standalone: bool = False,
    log_level: str = "INFO",
) -> list[str]:
    """``celery -A config worker``. ``standalone``: no gossip, mingle or heartbeat with
    peers, for a worker that needs none (tests, benches) and must not wait for replies."""
    argv = [sys.executable, "-m", "celery", "-A", CELERY_APP, "worker", "--loglevel", log_level]
    if pool is not None:
        argv += ["-P", pool]
    if concurrency is not None:
        argv += ["-c", str(concurrency)]
    if queues:
        argv += ["-Q", ",".join(queues)]
    if hostname is not None:
        argv += ["--hostname", hostname]
    for module in include:
        argv += ["--include", module]
    if standalone:
        argv += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    return argv


def beat_command(
    *, scheduler: str | None = None, schedule_file: str | None = None, log_level: str = "INFO"
) -> list[str]:
    """``celery -A config beat``; ``schedule_file`` is used only by Celery's own scheduler."""
    argv = [sys.executable, "-m", "celery", "-A", CELERY_APP, "beat", "--loglevel", log_level]
    if scheduler is not None:
        argv += ["-S", scheduler]
    if schedule_file is not None:
        argv += ["-s", schedule_file]
    return argv
