"""Shapes of the management API (SPEC §5). Read shapes are camelCase like the definitions."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from core.codec import unreadable_message
from executions.models import Execution, ExecutionLog, StepResult
from instances.models import Customer, Instance
from instances.polling import PollDetail
from instances.selectors import InstanceDetail, instance_detail
from integrations.definitions import integration_export
from integrations.models import ConfigVariableType, Integration


class TextField(serializers.CharField):
    """Text, and only text: DRF's CharField would store ``0`` or ``true`` as "0"/"True"
    where the schema says string (the API refuses what its schema calls invalid).

    ``max_length`` holds for the text as sent, as the schema's ``maxLength`` says: DRF
    trims surrounding whitespace first and measures what is left, so 201 characters of
    which the first is a space (or U+0085) would pass a limit of 200."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class UuidTextField(serializers.UUIDField):
    """A UUID written as text; DRF's UUIDField would also take an integer."""

    def to_internal_value(self, data: Any):
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class IntegrationSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Integration
        fields = ["id", "name", "version"]


class IntegrationImportSerializer(IntegrationSummarySerializer):
    created = serializers.BooleanField(
        help_text="False when the definition is identical to the newest version of its "
        "name: that version is answered (200) and no new one is made."
    )

    class Meta(IntegrationSummarySerializer.Meta):
        fields = [*IntegrationSummarySerializer.Meta.fields, "created"]


class IntegrationListSerializer(serializers.ModelSerializer):
    endpointType = serializers.CharField(source="endpoint_type")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Integration
        fields = ["id", "name", "version", "description", "endpointType", "createdAt"]


class IntegrationDetailSerializer(IntegrationListSerializer):
    flows = serializers.SerializerMethodField()
    configVariables = serializers.SerializerMethodField()
    definition = serializers.SerializerMethodField()

    class Meta(IntegrationListSerializer.Meta):
        fields = [*IntegrationListSerializer.Meta.fields, "flows", "configVariables", "definition"]

    def get_flows(self, integration: Integration) -> list[dict[str, Any]]:
        return [
            {
                "id": str(flow.id),
                "name": flow.name,
                "triggerType": flow.trigger_type,
                "synchronous": flow.synchronous,
                "steps": [{"name": s.name, "action": s.action} for s in flow.steps.all()],
            }
            for flow in integration.flows.all()
        ]

    def get_configVariables(self, integration: Integration) -> list[dict[str, Any]]:
        return [
            {
                "key": variable.key,
                "type": variable.type,
                "required": variable.required,
                # A secret's default is a secret too.
                "default": None if variable.type == ConfigVariableType.SECRET else variable.default,
                "options": variable.options,
            }
            for variable in integration.config_variables.all()
        ]

    def get_definition(self, integration: Integration) -> dict[str, Any]:
        return integration_export(integration=integration)


class CustomerSerializer(serializers.ModelSerializer):
    externalId = TextField(
        source="external_id",
        max_length=200,
        validators=[
            UniqueValidator(Customer.objects.all(), message="A customer has this externalId.")
        ],
    )
    name = TextField(max_length=200)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Customer
        fields = ["id", "name", "externalId", "createdAt"]
        read_only_fields = ["id"]


class CustomerUserCreateSerializer(serializers.Serializer):
    username = TextField(max_length=150)
    password = TextField(min_length=8, max_length=128, write_only=True)
    email = serializers.EmailField(required=False, allow_blank=True)


class InstanceCreateSerializer(serializers.Serializer):
    integration = UuidTextField()
    customer = UuidTextField()
    name = TextField(max_length=200)
    configVariables = serializers.DictField(required=False, default=dict)


class InstancePatchSerializer(serializers.Serializer):
    name = TextField(max_length=200, required=False)
    configVariables = serializers.DictField(
        required=False,
        help_text="Only the keys given change; a secret left out keeps its stored value.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError(
                {key: "Cannot be changed here." for key in sorted(unknown)}
            )
        return attrs


class InstanceSerializer(serializers.ModelSerializer):
    integration = IntegrationSummarySerializer(read_only=True)
    customer = serializers.UUIDField(source="customer_id", read_only=True)
    deployedAt = serializers.DateTimeField(source="deployed_at", read_only=True, allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    configVariables = serializers.SerializerMethodField()

    class Meta:
        model = Instance
        fields = [
            "id",
            "name",
            "customer",
            "integration",
            "enabled",
            "deployedAt",
            "createdAt",
            "configVariables",
        ]

    def get_configVariables(self, instance: Instance) -> dict[str, Any]:
        return instance.config_values_masked()


# One instance as ``instances.selectors.instance_detail`` reads it (the wizard and the admin
# show the same read), in the API's camelCase with ISO times. (No docstring: it would become
# the schema component's description.)
class InstanceDetailSerializer(InstanceSerializer):
    flows = serializers.SerializerMethodField()
    invokeUrl = serializers.SerializerMethodField()
    changedSinceDeploy = serializers.SerializerMethodField(
        help_text="The name changed, or config values are saved (staged) that differ from "
        "the live ones, since the last deploy; staged values take effect at the next one. "
        "False for an instance not deployed."
    )

    class Meta(InstanceSerializer.Meta):
        fields = [*InstanceSerializer.Meta.fields, "flows", "invokeUrl", "changedSinceDeploy"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Three fields read one detail; a serializer lives for one response.
        self._details: dict[uuid.UUID, InstanceDetail] = {}

    def _detail(self, instance: Instance) -> InstanceDetail:
        if instance.pk not in self._details:
            self._details[instance.pk] = instance_detail(instance)
        return self._details[instance.pk]

    def get_changedSinceDeploy(self, instance: Instance) -> bool:
        return self._detail(instance).changed_since_deploy

    def get_flows(self, instance: Instance) -> list[dict[str, Any]]:
        return [
            {
                "name": flow.name,
                "triggerType": flow.trigger_type,
                "webhookUrl": flow.webhook_url,
                "apiKeys": flow.api_keys,
                "schedule": flow.schedule,
                "nextRuns": [moment.isoformat() for moment in flow.next_runs],
                **({"poll": _poll_json(flow.poll)} if flow.poll is not None else {}),
            }
            for flow in self._detail(instance).flows
        ]

    def get_invokeUrl(self, instance: Instance) -> str | None:
        return self._detail(instance).invoke_url


def _poll_json(poll: PollDetail) -> dict[str, Any]:
    """A polling flow's ``poll`` entry (SPEC §8)."""
    return {
        "cursor": poll.cursor,
        "lastPolledAt": poll.last_polled_at.isoformat() if poll.last_polled_at else None,
        "lastItemCount": poll.last_item_count,
        "consecutiveFailures": poll.consecutive_failures,
        "backoffUntil": poll.backoff_until.isoformat() if poll.backoff_until else None,
    }


# A stored payload or result the codec cannot read (written by an older release, or
# damaged) is shown with the reason instead of failing the list or page it is on.
UNREADABLE_FIELD = serializers.CharField(
    allow_null=True,
    help_text="Why the stored value cannot be read; null when it can.",
)


class StepResultSerializer(serializers.ModelSerializer):
    startedAt = serializers.DateTimeField(source="started_at")
    endedAt = serializers.DateTimeField(source="ended_at")
    resultUrl = serializers.SerializerMethodField()
    resultError = serializers.SerializerMethodField()

    class Meta:
        model = StepResult
        fields = [
            "name",
            "action",
            "status",
            "startedAt",
            "endedAt",
            "error",
            "resultUrl",
            "resultError",
        ]

    def get_resultUrl(self, step: StepResult) -> str:
        request = self.context.get("request")
        path = f"/api/v1/executions/{step.execution_id}/steps/{step.position}/result"
        return request.build_absolute_uri(path) if request else path

    @extend_schema_field(UNREADABLE_FIELD)
    def get_resultError(self, step: StepResult) -> str | None:
        return unreadable_message(step.result)


class ExecutionLogSerializer(serializers.ModelSerializer):
    at = serializers.DateTimeField(source="created_at")
    step = serializers.CharField(source="step_name")

    class Meta:
        model = ExecutionLog
        fields = ["at", "level", "step", "message"]


class ExecutionSerializer(serializers.ModelSerializer):
    instance = serializers.UUIDField(source="instance_id")
    customer = serializers.UUIDField(source="customer_id")
    flow = serializers.CharField(source="flow.name")
    replayOf = serializers.UUIDField(source="replay_of_id", allow_null=True)
    retryOf = serializers.UUIDField(
        source="retry_of_id", allow_null=True, help_text="The first attempt, for a retry."
    )
    notBefore = serializers.DateTimeField(
        source="not_before", allow_null=True, help_text="A retry does not start before this."
    )
    triggerKind = serializers.CharField(source="trigger_kind")
    refusedAtTrigger = serializers.BooleanField(
        source="refused_at_trigger",
        help_text="The request was refused at its signature check or component trigger; "
        "such an execution is never replayed.",
    )
    createdAt = serializers.DateTimeField(source="created_at")
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    endedAt = serializers.DateTimeField(source="ended_at", allow_null=True)
    payloadError = serializers.SerializerMethodField()

    class Meta:
        model = Execution
        fields = [
            "id",
            "instance",
            "flow",
            "customer",
            "replayOf",
            "status",
            "triggerKind",
            "refusedAtTrigger",
            "attempt",
            "retryOf",
            "notBefore",
            "createdAt",
            "startedAt",
            "endedAt",
            "error",
            "payloadError",
        ]

    @extend_schema_field(UNREADABLE_FIELD)
    def get_payloadError(self, execution: Execution) -> str | None:
        return unreadable_message(execution.trigger_payload)


class ExecutionAttemptSerializer(serializers.ModelSerializer):
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    endedAt = serializers.DateTimeField(source="ended_at", allow_null=True)
    notBefore = serializers.DateTimeField(source="not_before", allow_null=True)

    class Meta:
        model = Execution
        fields = ["id", "attempt", "status", "notBefore", "startedAt", "endedAt", "error"]


class ExecutionDetailSerializer(ExecutionSerializer):
    steps = StepResultSerializer(many=True, read_only=True)
    logs = ExecutionLogSerializer(many=True, read_only=True)
    attempts = serializers.SerializerMethodField(
        help_text="Every attempt of this work (the first and its retries), in order."
    )

    class Meta(ExecutionSerializer.Meta):
        fields = [*ExecutionSerializer.Meta.fields, "attempts", "steps", "logs"]

    @extend_schema_field(ExecutionAttemptSerializer(many=True))
    def get_attempts(self, execution: Execution) -> list[dict]:
        first_id = execution.retry_of_id or execution.id
        attempts = Execution.objects.filter(Q(pk=first_id) | Q(retry_of_id=first_id)).order_by(
            "attempt", "created_at"
        )
        return list(ExecutionAttemptSerializer(attempts, many=True).data)


class ApiKeySerializer(serializers.Serializer):
    key = serializers.CharField(read_only=True)


class CancelQueuedSerializer(serializers.Serializer):
    flow = TextField(
        required=False, max_length=200, help_text="Only this flow's queue (a flow name)."
    )


class CancelQueuedResultSerializer(serializers.Serializer):
    canceled = serializers.IntegerField(help_text="How many queued executions were canceled.")
