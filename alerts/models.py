"""Alert monitors, their channels, and what they sent (SPEC §9; docs/alerts.md).

A monitor watches one event type within a scope (integration, customer, instance, flow:
empty means all). What it has noticed is kept per monitor, instance and flow in an
``AlertState`` (the cooldown, the held-back count, whether a recovery notice is owed).
Every notification is an ``AlertEvent`` with the exact body its webhook channels are sent,
and one ``AlertDelivery`` per channel that records every attempt.
"""

from __future__ import annotations

import base64
import secrets
import uuid

from django.db import models

from instances.models import Customer, Instance
from integrations.models import Integration

DEFAULT_COOLDOWN_SECONDS = 300


def webhook_secret_generate() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class AlertMonitor(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    event = models.CharField(max_length=64)  # a key of alerts.events.EVENT_TYPES
    # Scope; empty = all. An integration stands for every version of its name.
    integration = models.ForeignKey(
        Integration, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    instance = models.ForeignKey(
        Instance, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    flow_name = models.CharField(max_length=200, blank=True)
    threshold = models.JSONField(default=dict, blank=True)
    cooldown_seconds = models.PositiveIntegerField(default=DEFAULT_COOLDOWN_SECONDS)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "created_at"]
        indexes = [models.Index(fields=["enabled", "event"], name="alert_monitor_event")]

    def __str__(self) -> str:
        return self.name


class ChannelType(models.TextChoices):
    WEBHOOK = "webhook"
    EMAIL = "email"


class AlertChannel(models.Model):
    monitor = models.ForeignKey(AlertMonitor, on_delete=models.CASCADE, related_name="channels")
    position = models.PositiveSmallIntegerField(default=0)
    type = models.CharField(max_length=16, choices=ChannelType.choices)
    url = models.URLField(max_length=2000, blank=True)
    to = models.JSONField(default=list, blank=True)  # email addresses
    secret = models.CharField(max_length=100, blank=True, default=webhook_secret_generate)

    class Meta:
        ordering = ["monitor", "position", "id"]

    def __str__(self) -> str:
        return self.url if self.type == ChannelType.WEBHOOK else ", ".join(self.to)


class AlertState(models.Model):
    """What one monitor knows of one instance's flow (``flow_name`` empty for endpoint
    events, which are per endpoint: ``subject`` holds the endpoint's token there)."""

    monitor = models.ForeignKey(AlertMonitor, on_delete=models.CASCADE, related_name="states")
    # None for an endpoint shared by an integration's instances (SPEC §3's third mode);
    # the periodic check, the only writer of those, runs in one process at a time.
    instance = models.ForeignKey(
        Instance, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    flow_name = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    suppressed = models.PositiveIntegerField(default=0)  # held back since the last notice
    active = models.BooleanField(default=False)  # a recovery notice is owed
    # The condition's own mark, so the periodic checks raise each occurrence once: the
    # overdue fire's time, the last counted endpoint minute, the failed-poll streak.
    mark = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["monitor", "instance", "flow_name", "subject"], name="alert_state_once"
            )
        ]
        indexes = [models.Index(fields=["monitor", "active"], name="alert_state_active")]

    def __str__(self) -> str:
        return f"{self.monitor_id} / {self.instance_id} / {self.flow_name or self.subject}"


class AlertEvent(models.Model):
    """One notification: the body every webhook channel is sent (``payload``, with this
    row's id as its ``id`` and the Standard Webhooks ``webhook-id``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    monitor = models.ForeignKey(AlertMonitor, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=80)  # the monitor's event, or "<event>.recovered"
    occurred_at = models.DateTimeField()
    instance = models.ForeignKey(
        Instance, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    flow_name = models.CharField(max_length=200, blank=True)
    # Not a foreign key: retention deletes executions, and the event keeps what it said.
    execution_id = models.UUIDField(null=True, blank=True)
    suppressed = models.PositiveIntegerField(default=0)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(fields=["monitor", "-occurred_at"], name="alert_event_monitor"),
            models.Index(fields=["-occurred_at"], name="alert_event_time"),
            models.Index(fields=["monitor", "execution_id"], name="alert_event_execution"),
        ]

    def __str__(self) -> str:
        return f"{self.type} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"  # an attempt is due at next_attempt_at
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up: 24 hours of retries, or an email the server refused


class AlertDelivery(models.Model):
    """One channel's delivery of one event; ``attempts`` lists every try as
    ``{at, status, error}`` (``status`` the HTTP status, null when nothing answered)."""

    event = models.ForeignKey(AlertEvent, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(
        AlertChannel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel_type = models.CharField(max_length=16, choices=ChannelType.choices)
    target = models.CharField(max_length=2000)  # the URL or the addresses, as sent
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.JSONField(default=list)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Taken by the worker sending it, so two checkers never send one attempt twice.
    sending_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["event", "id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="alert_delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.channel_type} {self.target}: {self.status}"


class AlertCheckLease(models.Model):
    """One row: which process runs the periodic alert checks until ``held_until``."""

    name = models.CharField(max_length=50, primary_key=True)
    held_until = models.DateTimeField()
    holder = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"{self.name}: {self.holder} until {self.held_until:%H:%M:%S}"
