"""Heartbeats: how a dead worker's run is told apart from a slow one in seconds.

Every worker process runs one daemon thread that, every ``TRIGGERFISH_HEARTBEAT_SECONDS``,
stamps ``heartbeat_at`` on all the executions the process is running, in one UPDATE. A
process killed outright (SIGKILL, OOM, a lost host) stops stamping, and the recovery sweep
fails its runs once the stamp is older than ``TRIGGERFISH_LOST_HEARTBEAT_SECONDS``.

The same UPDATE tells a run that its row is no longer ``running`` (the sweep failed it as
lost while the process was merely stalled, or it was canceled): the runner checks
``RunHandle.stopped`` before each step and stops, so a run taken for lost, and perhaps
retried elsewhere, does not go on to complete a second time.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from executions.models import Execution, ExecutionStatus

logger = logging.getLogger(__name__)


@dataclass
class RunHandle:
    execution_id: uuid.UUID | str
    stopped: threading.Event = field(default_factory=threading.Event)


_lock = threading.Lock()
_runs: dict[str, RunHandle] = {}
_thread: threading.Thread | None = None


def heartbeat_register(*, execution_id: uuid.UUID | str) -> RunHandle:
    """Start stamping this process's run of ``execution_id``."""
    global _thread
    handle = RunHandle(execution_id)
    with _lock:
        _runs[str(execution_id)] = handle
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_beat_forever, name="heartbeat", daemon=True)
            _thread.start()
    return handle


def heartbeat_unregister(*, execution_id: uuid.UUID | str) -> None:
    with _lock:
        _runs.pop(str(execution_id), None)


def heartbeat_beat() -> None:
    """One beat: stamp the running rows, flag the handles whose row stopped running."""
    with _lock:
        handles = dict(_runs)
    if not handles:
        return
    stamped = Execution.objects.filter(pk__in=handles, status=ExecutionStatus.RUNNING).update(
        heartbeat_at=timezone.now()
    )
    if stamped == len(handles):
        return
    # Only rows seen with another status: a row not visible (yet) is not a stop signal.
    for execution_id in (
        Execution.objects.filter(pk__in=handles)
        .exclude(status=ExecutionStatus.RUNNING)
        .values_list("id", flat=True)
    ):
        handle = handles.get(str(execution_id))
        if handle is not None:
            handle.stopped.set()


def _beat_forever() -> None:
    while True:
        time.sleep(settings.TRIGGERFISH_HEARTBEAT_SECONDS)
        try:
            close_old_connections()
            heartbeat_beat()
        except Exception:  # a beat missed now is retried at the next interval
            logger.warning("Heartbeat failed", exc_info=True)
