"""Signals a run's end sends, for the apps above executions that watch runs (the alert
monitors) without executions importing them.

``execution_ended`` is sent by ``retries.execution_finished_followup``, after the run's
final write has committed and its retry (if any) is scheduled, with keyword arguments
``execution_id``, ``status``, ``retry_scheduled``, ``instance_id``, ``customer_id``,
``integration_id`` and ``flow_name``. Receivers are called with ``send_robust``: one that
raises is logged, and the run's follow-up goes on.
"""

from django.dispatch import Signal

execution_ended = Signal()
