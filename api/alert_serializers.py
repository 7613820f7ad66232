"""Shapes of alert monitors and alert events over the API (SPEC §9), in camelCase.

Input is parsed here (types, lengths); what a monitor may hold (the event, its threshold,
that the scope exists, the flow, the channels) is ``alerts.monitors.monitor_errors``'s
call, the same check the admin makes.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from alerts.events import EVENT_TYPES
from alerts.models import AlertChannel, AlertDelivery, AlertEvent, AlertMonitor, ChannelType
from alerts.monitors import (
    FLOW_MAX_LENGTH,
    MAX_ADDRESSES,
    MAX_CHANNELS,
    MAX_COOLDOWN_SECONDS,
    NAME_MAX_LENGTH,
    URL_MAX_LENGTH,
)
from api.exceptions import errors_flatten
from api.serializers import TextField, UuidTextField


class StrictKeysMixin(serializers.Serializer):
    """A key the shape does not have is refused, not dropped: a mistyped ``cooldwonSeconds``
    would otherwise leave the default in place as if it were asked for. Keys the answer
    holds (``id``, ``secret``) may be sent back and are ignored, so a read can be PUT."""

    ignored_keys: tuple[str, ...] = ()

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = set(data) - set(self.fields) - set(self.ignored_keys)
            if unknown:
                raise serializers.ValidationError(
                    {str(key): "Not a field of this object." for key in sorted(map(str, unknown))}
                )
        return super().to_internal_value(data)


class ChannelInputSerializer(StrictKeysMixin, serializers.Serializer):
    ignored_keys = ("secret",)
    type = serializers.ChoiceField(
        choices=ChannelType.values,
        error_messages={"invalid_choice": f"One of: {', '.join(ChannelType.values)}."},
    )
    url = TextField(required=False, max_length=URL_MAX_LENGTH, help_text="webhook: http(s) URL")
    to = serializers.ListField(
        child=serializers.EmailField(),
        required=False,
        min_length=1,
        max_length=MAX_ADDRESSES,
        help_text="email: the addresses",
    )


class MonitorInputSerializer(StrictKeysMixin, serializers.Serializer):
    ignored_keys = ("id",)
    name = TextField(max_length=NAME_MAX_LENGTH)
    event = serializers.ChoiceField(
        choices=list(EVENT_TYPES),
        error_messages={"invalid_choice": f"Unknown event (one of: {', '.join(EVENT_TYPES)})."},
    )
    integration = UuidTextField(required=False, allow_null=True, help_text="null: all")
    customer = UuidTextField(required=False, allow_null=True, help_text="null: all")
    instance = UuidTextField(required=False, allow_null=True, help_text="null: all")
    flow = TextField(
        required=False, allow_null=True, max_length=FLOW_MAX_LENGTH, help_text="null: all"
    )
    threshold = serializers.DictField(
        required=False, help_text="Keys by event: seconds, count, level, graceSeconds."
    )
    channels = serializers.ListField(
        child=ChannelInputSerializer(), required=False, max_length=MAX_CHANNELS
    )
    cooldownSeconds = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_COOLDOWN_SECONDS
    )
    enabled = serializers.BooleanField(required=False)


def input_errors(detail: Any) -> dict[str, str]:
    """DRF's errors by the paths the service names them: ``channels[0].to[1]`` (a list
    field's errors come keyed by index, which would read ``channels.0.to.1``)."""
    return errors_flatten(detail, index_keys=True)


CHANNEL_SCHEMA = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": ChannelType.values},
        "url": {"type": "string", "description": "webhook channels"},
        "secret": {
            "type": "string",
            "description": "webhook channels: the Standard Webhooks secret (whsec_…)",
        },
        "to": {"type": "array", "items": {"type": "string"}, "description": "email channels"},
    },
    "required": ["type"],
}


def channel_json(channel: AlertChannel) -> dict[str, Any]:
    if channel.type == ChannelType.WEBHOOK:
        return {"type": channel.type, "url": channel.url, "secret": channel.secret}
    return {"type": channel.type, "to": list(channel.to)}


class MonitorSerializer(serializers.ModelSerializer):
    integration = serializers.UUIDField(source="integration_id", allow_null=True)
    customer = serializers.UUIDField(source="customer_id", allow_null=True)
    instance = serializers.UUIDField(source="instance_id", allow_null=True)
    flow = serializers.SerializerMethodField()
    threshold = serializers.DictField()
    channels = serializers.SerializerMethodField()
    cooldownSeconds = serializers.IntegerField(source="cooldown_seconds")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = AlertMonitor
        fields = [
            "id",
            "name",
            "event",
            "integration",
            "customer",
            "instance",
            "flow",
            "threshold",
            "channels",
            "cooldownSeconds",
            "enabled",
            "createdAt",
            "updatedAt",
        ]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_flow(self, monitor: AlertMonitor) -> str | None:
        return monitor.flow_name or None

    @extend_schema_field({"type": "array", "items": CHANNEL_SCHEMA})
    def get_channels(self, monitor: AlertMonitor) -> list[dict[str, Any]]:
        return [channel_json(channel) for channel in monitor.channels.all()]


class RotatedSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The channel's new secret (whsec_…).")


def _object_schema(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "nullable": True, "properties": properties}


_ATTEMPT_SCHEMA = {
    "type": "object",
    "properties": {
        "at": {"type": "string", "format": "date-time"},
        "status": {"type": "integer", "nullable": True, "description": "HTTP status"},
        "error": {"type": "string", "nullable": True},
    },
}

DELIVERY_SCHEMA = {
    "type": "object",
    "properties": {
        "channel": {"type": "string", "enum": ChannelType.values},
        "target": {"type": "string", "description": "The URL or the addresses, as sent."},
        "status": {"type": "string", "enum": ["pending", "delivered", "failed"]},
        "attempts": {"type": "array", "items": _ATTEMPT_SCHEMA},
        "nextAttemptAt": {"type": "string", "format": "date-time", "nullable": True},
    },
}


def delivery_json(delivery: AlertDelivery) -> dict[str, Any]:
    return {
        "channel": delivery.channel_type,
        "target": delivery.target,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "nextAttemptAt": delivery.next_attempt_at.isoformat() if delivery.next_attempt_at else None,
    }


class AlertEventSerializer(serializers.ModelSerializer):
    occurredAt = serializers.DateTimeField(source="occurred_at")
    monitor = serializers.SerializerMethodField()
    instance = serializers.SerializerMethodField()
    flow = serializers.SerializerMethodField()
    execution = serializers.SerializerMethodField()
    deliveries = serializers.SerializerMethodField()

    class Meta:
        model = AlertEvent
        fields = [
            "id",
            "type",
            "occurredAt",
            "monitor",
            "instance",
            "flow",
            "execution",
            "suppressed",
            "deliveries",
        ]

    # instance, flow and execution are the notice's own (alerts.notices.notice_body): what
    # was sent, even after the instance is renamed or the execution deleted by retention.
    @extend_schema_field(
        {
            "type": "object",
            "properties": {"id": {"type": "string", "format": "uuid"}, "name": {"type": "string"}},
        }
    )
    def get_monitor(self, event: AlertEvent) -> dict[str, Any]:
        return {"id": str(event.monitor_id), "name": event.monitor.name}

    @extend_schema_field(
        _object_schema({"id": {"type": "string", "format": "uuid"}, "name": {"type": "string"}})
    )
    def get_instance(self, event: AlertEvent) -> dict[str, Any] | None:
        return event.payload.get("instance")

    @extend_schema_field(_object_schema({"name": {"type": "string"}}))
    def get_flow(self, event: AlertEvent) -> dict[str, Any] | None:
        return event.payload.get("flow")

    @extend_schema_field(
        _object_schema(
            {
                "id": {"type": "string", "format": "uuid"},
                "status": {"type": "string"},
                "error": {"type": "string", "nullable": True},
                "startedAt": {"type": "string", "format": "date-time", "nullable": True},
                "endedAt": {"type": "string", "format": "date-time", "nullable": True},
            }
        )
    )
    def get_execution(self, event: AlertEvent) -> dict[str, Any] | None:
        return event.payload.get("execution")

    @extend_schema_field({"type": "array", "items": DELIVERY_SCHEMA})
    def get_deliveries(self, event: AlertEvent) -> list[dict[str, Any]]:
        return [delivery_json(delivery) for delivery in event.deliveries.all()]
