"""What the trigger edges remember: deliveries seen (idempotency), schedule fires and
endpoint activity. The Endpoint model itself is defined in ``instances.models``."""

from __future__ import annotations

from django.db import models

from instances.models import Instance


class IdempotencyRecord(models.Model):
    """A delivery seen on an endpoint: an ``Idempotency-Key`` (or a sender's delivery id).
    A repeat within the retention window is answered with the first execution's id."""

    endpoint_token = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    execution = models.ForeignKey(
        "executions.Execution", on_delete=models.CASCADE, related_name="idempotency_records"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint_token", "key"], name="idempotency_per_endpoint"
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} → {self.execution_id}"


class ScheduleFireOutcome(models.TextChoices):
    STARTED = "started"
    SKIPPED = "skipped"


class ScheduleFire(models.Model):
    """One fire of an instance's schedule flow, claimed before its execution is created.

    The unique (instance, flow name, scheduled time) key makes a fire idempotent: a
    duplicate delivery, or two beats firing the same slot, finds the claim and starts
    nothing. ``message_id`` (the Celery task id) dedupes fires sent by django-celery-beat's
    stock scheduler, whose messages carry no scheduled time. A singleton flow's skipped fire
    is recorded here (``skipped``) and as a canceled execution. Rows are pruned after
    ``SCHEDULE_FIRE_RETENTION`` (see triggers.schedules.fire)."""

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="schedule_fires")
    flow_name = models.CharField(max_length=200)
    scheduled_time = models.DateTimeField()
    outcome = models.CharField(max_length=16, choices=ScheduleFireOutcome.choices)
    execution = models.ForeignKey(
        "executions.Execution",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    message_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "flow_name", "scheduled_time"],
                name="schedule_fire_per_slot",
            )
        ]

    def __str__(self) -> str:
        return f"{self.flow_name} @ {self.scheduled_time:%Y-%m-%d %H:%M:%S} ({self.outcome})"


class EndpointActivity(models.Model):
    """Requests to one endpoint in one minute: counts by answer and a latency histogram
    (upper bounds in ``triggers.webhooks.activity.LATENCY_BUCKETS_MS``). Written in batches by each
    web process, read by the admin's activity view."""

    endpoint_token = models.CharField(max_length=64)
    minute = models.DateTimeField()
    requests = models.PositiveIntegerField(default=0)
    status_2xx = models.PositiveIntegerField(default=0)
    status_3xx = models.PositiveIntegerField(default=0)
    status_4xx = models.PositiveIntegerField(default=0)
    status_401 = models.PositiveIntegerField(default=0)  # of status_4xx, like status_429
    status_429 = models.PositiveIntegerField(default=0)
    status_5xx = models.PositiveIntegerField(default=0)
    latency_histogram = models.JSONField(default=list)

    class Meta:
        verbose_name_plural = "endpoint activity"
        constraints = [
            models.UniqueConstraint(fields=["endpoint_token", "minute"], name="activity_per_minute")
        ]
        # The admin's dashboard reads the last hour of every endpoint (ops.dashboard).
        indexes = [models.Index(fields=["minute"], name="activity_minute")]

    def __str__(self) -> str:
        return f"…{self.endpoint_token[-6:]} {self.minute:%H:%M}: {self.requests}"
