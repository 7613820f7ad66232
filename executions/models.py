"""Executions: one run of a flow, with its step results and log lines.

The Execution row is the record of accepted work: it is committed before anything is
enqueued, so the database, not the broker, decides what must run.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.files.storage import storages
from django.db import models
from django.utils import timezone

from executions.fields import PayloadField
from instances.models import Customer, Instance
from integrations.models import Flow, Integration


def results_storage():
    """Resolved lazily so tests and deployments can switch RESULTS_STORAGE."""
    return storages["results"]


class ExecutionStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


FINISHED_STATUSES = (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.CANCELED)


class TriggerKind(models.TextChoices):
    WEBHOOK = "webhook"
    SCHEDULE = "schedule"
    POLL = "poll"
    INSTANCE_DEPLOY = "instance_deploy"
    INSTANCE_REMOVE = "instance_remove"
    REPLAY = "replay"
    MANUAL = "manual"


class Execution(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    instance = models.ForeignKey(Instance, on_delete=models.PROTECT, related_name="executions")
    # Denormalized from the instance so tenant-scoped lists filter on one indexed column.
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="executions")
    integration = models.ForeignKey(
        Integration, on_delete=models.PROTECT, related_name="executions"
    )
    flow = models.ForeignKey(Flow, on_delete=models.PROTECT, related_name="executions")
    status = models.CharField(
        max_length=16, choices=ExecutionStatus.choices, default=ExecutionStatus.QUEUED
    )
    trigger_kind = models.CharField(max_length=32, choices=TriggerKind.choices)
    trigger_payload = PayloadField(default=dict)
    # The request was refused at its signature check or component trigger (answered 401
    # or the trigger's status, recorded without steps). Its payload is unverified: it is
    # never replayed (executions.services.execution_replay).
    refused_at_trigger = models.BooleanField(default=False)
    synchronous = models.BooleanField(default=False)
    # Its trigger payload and step results were dropped when the run ended (the
    # integration's ``retention: {storePayloads: false}``): it can no longer be replayed.
    payload_dropped = models.BooleanField(default=False)
    replay_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays"
    )
    attempt = models.PositiveSmallIntegerField(default=1)
    # Retries are rows of their own, each pointing at the first attempt (docs/reliability.md).
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # A throttled or sequential queue's order. A retry inherits its first attempt's, so in a
    # FIFO queue it keeps its place instead of going behind work that arrived later.
    arrived_at = models.DateTimeField(null=True, blank=True)
    # Not started before this time (a retry's delay); null = as soon as the queue allows.
    not_before = models.DateTimeField(null=True, blank=True)
    # The queue's dedupe id (the flow's dedupeIdField read from the payload), "" = none.
    dedupe_id = models.CharField(max_length=500, blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    # Written every few seconds by the worker running it; a stale one means the worker died.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "created_at"]),
            models.Index(fields=["instance", "flow", "-created_at"]),
            models.Index(fields=["customer", "-created_at"]),
            # The queue's questions: what is running, what is next, for one instance.
            models.Index(fields=["instance", "status", "arrived_at"]),
            # Retention (executions.retention): one integration version's finished runs by
            # when they ended, those whose payload is still to drop first.
            models.Index(
                fields=["integration", "payload_dropped", "ended_at"], name="execution_retention"
            ),
            models.Index(
                fields=["instance", "dedupe_id"],
                name="execution_dedupe",
                condition=~models.Q(dedupe_id=""),
            ),
        ]
        constraints = [
            # One retry per failed attempt, whoever (runner or lost-run sweep) schedules it.
            models.UniqueConstraint(
                fields=["retry_of", "attempt"],
                name="execution_retry_attempt",
                condition=models.Q(retry_of__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.flow.name} {self.status} ({self.id})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def is_replayable(self) -> bool:
        """Whether the surfaces offer Replay: finished, and not a refused request."""
        return self.is_finished and not self.refused_at_trigger

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.ended_at:
            return (self.ended_at - self.started_at).total_seconds()
        return None


class StepStatus(models.TextChoices):
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class StepResult(models.Model):
    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    action = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=StepStatus.choices)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    # Small results inline; large ones in the results storage (see executions.results).
    result = PayloadField(null=True, blank=True)
    result_file = models.FileField(storage=results_storage, null=True, blank=True, max_length=500)
    result_size = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["execution", "position"]
        constraints = [
            models.UniqueConstraint(fields=["execution", "position"], name="step_result_position")
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.status}"


class ExecutionLog(models.Model):
    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="logs")
    # When the line was logged, which for a line the runner holds back (see executions.
    # runner) is earlier than when it was saved: a default, not auto_now_add.
    created_at = models.DateTimeField(default=timezone.now)
    level = models.CharField(max_length=16, default="info")
    message = models.TextField()
    step_name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["execution", "id"]

    def __str__(self) -> str:
        return f"[{self.level}] {self.message[:60]}"


class ReplayJobStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    CANCELED = "canceled"


class ReplayDefinition(models.TextChoices):
    """Which version a bulk replay runs: the instance's deployed one, or the one that ran."""

    CURRENT = "current"
    ORIGINAL = "original"


class ReplayJob(models.Model):
    """A bulk replay (SPEC §10): the executions a filter matched when it was posted, each
    replayed once by ``executions.replay``, no faster than TRIGGERFISH_REPLAY_PER_SECOND."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status = models.CharField(
        max_length=16, choices=ReplayJobStatus.choices, default=ReplayJobStatus.QUEUED
    )
    definition = models.CharField(
        max_length=16, choices=ReplayDefinition.choices, default=ReplayDefinition.CURRENT
    )
    # The filter as it was applied (a customer user's narrowed to its customer), in the
    # API's names, so the job says what it selected.
    filter = models.JSONField(default=dict)
    # The one customer the selection is limited to, null for staff across customers: the
    # job's tenancy (instances.tenancy.scoped_to_user), like an execution's.
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="replay_jobs"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    total = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Stamped by the task running the job between replays; a stale one means its worker
    # died, and the next delivery (or the recovery sweep) takes the job over.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["customer", "-created_at"])]

    def __str__(self) -> str:
        return f"Replay job {self.id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (ReplayJobStatus.DONE, ReplayJobStatus.CANCELED)

    @property
    def remaining(self) -> int:
        return max(self.total - self.created - self.skipped, 0)


class ReplayItemOutcome(models.TextChoices):
    PENDING = "pending"
    CREATED = "created"
    SKIPPED = "skipped"


class ReplayItem(models.Model):
    """One selected execution of a replay job and what became of it: the durable progress
    that makes the job's task idempotent (an item leaves ``pending`` in the same
    transaction that creates its replay, so a redelivered task never replays it again)."""

    job = models.ForeignKey(ReplayJob, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    # No database constraint on either execution: retention deletes old executions with
    # plain DELETEs and must not be held up (or cascade) by a job's record. An execution
    # deleted before its turn is skipped.
    execution = models.ForeignKey(
        Execution, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    outcome = models.CharField(
        max_length=16, choices=ReplayItemOutcome.choices, default=ReplayItemOutcome.PENDING
    )
    replay = models.ForeignKey(
        Execution,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    # Why it was skipped (the refusal's message).
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["job", "position"]
        constraints = [
            models.UniqueConstraint(fields=["job", "position"], name="replay_item_position"),
            models.UniqueConstraint(fields=["job", "execution"], name="replay_item_execution"),
        ]
        indexes = [models.Index(fields=["job", "outcome", "position"])]

    def __str__(self) -> str:
        return f"{self.execution_id}: {self.outcome}"
