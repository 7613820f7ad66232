"""Signals a run's end sends, for the apps above executions that watch runs (the alert
monitors) without executions importing them.

``execution_ended`` is sent after a run's final write has committed and its retry (if
any) is scheduled — by ``retries.execution_finished_followup``, or by the runner itself
when nothing follows the run — with keyword arguments ``execution_id``, ``status``,
``retry_scheduled``, ``instance_id``, ``customer_id`` and ``flow_name`` (the ids None
where the sender did not read them: receivers then take them as unknown). Receivers are
called with ``send_robust``: one that raises is logged, and the run's end goes on.
"""

from __future__ import annotations

import logging
import uuid

from django.dispatch import Signal

logger = logging.getLogger(__name__)

execution_ended = Signal()


def execution_ended_send(
    *,
    execution_id: uuid.UUID | str,
    status: str,
    flow_name: str,
    retry_scheduled: bool = False,
    instance_id: object = None,
    customer_id: object = None,
) -> None:
    for receiver, error in execution_ended.send_robust(
        sender=None,
        execution_id=execution_id,
        status=status,
        retry_scheduled=retry_scheduled,
        instance_id=instance_id,
        customer_id=customer_id,
        flow_name=flow_name,
    ):
        if isinstance(error, Exception):
            logger.error(
                "A receiver of a run's end (%r) failed for execution %s",
                receiver,
                execution_id,
                exc_info=error,
            )
