"""Where the periodic alert checks (alerts.checks) run: a thread of every worker process,
under a lease row so one process at a time runs them however many worker hosts there are
(docs/alerts.md)."""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connections, transaction
from django.utils import timezone

from alerts.checks import alert_checks_run
from alerts.models import AlertCheckLease

logger = logging.getLogger(__name__)

LEASE_NAME = "alerts.checks"


def lease_take(*, now: datetime, holder: str, seconds: float) -> bool:
    """Take the checks' lease if it is free (or expired); True when this caller holds it."""
    until = now + timedelta(seconds=seconds)
    taken = AlertCheckLease.objects.filter(name=LEASE_NAME, held_until__lte=now).update(
        held_until=until, holder=holder
    )
    if taken:
        return True
    try:
        with transaction.atomic():  # a savepoint: losing the race must not break the caller's
            AlertCheckLease.objects.create(name=LEASE_NAME, held_until=until, holder=holder)
    except IntegrityError:
        return False
    return True


_stop = threading.Event()
_thread: threading.Thread | None = None


def checker_start() -> None:
    """Start this process's checker thread (once)."""
    global _thread
    if _thread is not None and _thread.is_alive():
        return
    _stop.clear()
    _thread = threading.Thread(target=_checker_loop, name="alert-checks", daemon=True)
    _thread.start()


def checker_stop() -> None:
    _stop.set()


def _checker_loop() -> None:
    interval = settings.TRIGGERFISH_ALERT_CHECK_SECONDS
    holder = f"{socket.gethostname()}:{os.getpid()}"
    while not _stop.wait(interval):
        try:
            close_old_connections()
            now = timezone.now()
            # Held a little less than the interval, so the next tick anywhere can take it.
            if lease_take(now=now, holder=holder, seconds=max(1.0, interval * 0.9)):
                alert_checks_run(now=now)
        except Exception:  # the thread lives as long as its worker
            logger.exception("The periodic alert checks failed")
        finally:
            connections.close_all()
