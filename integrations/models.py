"""Integration definitions: versioned integrations, their config variables, flows and steps.

An Integration row is one *version*: importing a definition whose name exists creates the
next version, and instances keep pointing at the version they were deployed with.
"""

from __future__ import annotations

import uuid

from django.db import models

from integrations.components.registry import get_polling_trigger, is_component_key
from integrations.secrets import (
    hmac_settings_seal,
    secret_open_if_sealed,
    secret_seal,
    variable_default_context,
)


class EndpointType(models.TextChoices):
    FLOW_SPECIFIC = "flow_specific", "One URL per instance flow"
    INSTANCE_SPECIFIC = "instance_specific", "One URL per instance"
    SHARED_INSTANCE = "shared_instance", "One URL shared by all customers"


class Integration(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    version = models.PositiveIntegerField(default=1)
    description = models.TextField(blank=True)
    endpoint_type = models.CharField(
        max_length=32, choices=EndpointType.choices, default=EndpointType.FLOW_SPECIFIC
    )
    rate_limit_per_second = models.PositiveIntegerField(
        null=True, blank=True, help_text="Requests per second per endpoint; empty = the default."
    )
    flow_name_field = models.CharField(
        max_length=500, blank=True, help_text="Payload path naming the flow, e.g. headers.x-flow"
    )
    external_customer_id_field = models.CharField(
        max_length=500, blank=True, help_text="Payload path naming the customer's external id."
    )
    # The definition's ``retention`` (executions.retention): days its executions are kept
    # (empty = TRIGGERFISH_EXECUTION_RETENTION_DAYS), and whether their trigger payloads
    # and step results are kept once a run ends.
    retention_days = models.PositiveIntegerField(null=True, blank=True)
    retention_store_payloads = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="integration_name_version")
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class ConfigVariableType(models.TextChoices):
    STRING = "string"
    BOOLEAN = "boolean"
    NUMBER = "number"
    PICKLIST = "picklist"
    SECRET = "secret"
    SCHEDULE = "schedule"
    JSON = "json"


class ConfigVariable(models.Model):
    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="config_variables"
    )
    key = models.CharField(max_length=200)
    type = models.CharField(
        max_length=16, choices=ConfigVariableType.choices, default=ConfigVariableType.STRING
    )
    position = models.PositiveIntegerField(default=0)
    description = models.TextField(blank=True)
    default = models.JSONField(null=True, blank=True)
    required = models.BooleanField(default=False)
    options = models.JSONField(default=list, blank=True, help_text="Picklist members.")

    class Meta:
        ordering = ["integration", "position"]
        constraints = [
            models.UniqueConstraint(fields=["integration", "key"], name="config_variable_key")
        ]

    def __str__(self) -> str:
        return self.key

    def save(self, *args, **kwargs) -> None:
        self.default = self.default_sealed()
        super().save(*args, **kwargs)

    def default_sealed(self) -> object:
        """The default as stored: a ``secret`` variable's sealed for its integration and key
        (idempotent, so saving a loaded row again changes nothing)."""
        if self.type != ConfigVariableType.SECRET or not isinstance(self.default, str):
            return self.default
        if not self.default:
            return self.default
        return secret_seal(self.default, context=self._default_context())

    def default_opened(self) -> object:
        """The default as defined, a secret one opened: for runs, checks and export with
        secrets only."""
        return secret_open_if_sealed(self.default, context=self._default_context())

    def _default_context(self) -> str:
        return variable_default_context(self.integration_id, self.key)


class TriggerType(models.TextChoices):
    """Built-in trigger types. A component trigger is stored as ``<component>.<trigger>``."""

    WEBHOOK = "webhook"
    HMAC_WEBHOOK = "hmac_webhook"
    SCHEDULE = "schedule"
    INSTANCE_DEPLOY = "instance_deploy"
    INSTANCE_REMOVE = "instance_remove"


class EndpointSecurity(models.TextChoices):
    UNSECURED = "unsecured"
    CUSTOMER_OPTIONAL = "customer_optional"
    CUSTOMER_REQUIRED = "customer_required"
    ORGANIZATION = "organization"


class PollOnDeploy(models.TextChoices):
    """What a polling flow's first poll does with the items it finds (SPEC §8)."""

    SKIP = "skip"
    BACKFILL = "backfill"


class QueueType(models.TextChoices):
    PARALLEL = "parallel"
    THROTTLED = "throttled"
    SEQUENTIAL = "sequential"


class Flow(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="flows")
    name = models.CharField(max_length=200)
    position = models.PositiveIntegerField(default=0)
    description = models.TextField(blank=True)

    trigger_type = models.CharField(max_length=200, default=TriggerType.WEBHOOK)
    trigger_inputs = models.JSONField(default=dict, blank=True)
    synchronous = models.BooleanField(default=False)
    endpoint_security = models.CharField(
        max_length=32, choices=EndpointSecurity.choices, default=EndpointSecurity.CUSTOMER_OPTIONAL
    )
    hmac = models.JSONField(null=True, blank=True)
    schedule = models.JSONField(null=True, blank=True)
    # Polling triggers only (SPEC §8): items per execution, and whether the first poll's
    # items run.
    poll_batch_size = models.PositiveSmallIntegerField(default=1)
    poll_on_deploy = models.CharField(
        max_length=16, choices=PollOnDeploy.choices, default=PollOnDeploy.SKIP
    )

    # A custom async response exists when a status code is set.
    response_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_content_type = models.CharField(max_length=200, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_body = models.TextField(blank=True)

    queue_type = models.CharField(
        max_length=16, choices=QueueType.choices, default=QueueType.PARALLEL
    )
    queue_concurrency_limit = models.PositiveSmallIntegerField(null=True, blank=True)
    queue_dedupe_id_field = models.CharField(max_length=500, blank=True)
    singleton = models.BooleanField(default=False)
    retry_max_attempts = models.PositiveSmallIntegerField(default=0)
    retry_delay_seconds = models.PositiveIntegerField(default=60)
    retry_exponential_backoff = models.BooleanField(default=False)
    sync_timeout_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["integration", "position"]
        constraints = [models.UniqueConstraint(fields=["integration", "name"], name="flow_name")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        # A literal signing secret is stored sealed (idempotent; see integrations.secrets).
        self.hmac = hmac_settings_seal(self.hmac, flow_id=self.pk)
        super().save(*args, **kwargs)

    @property
    def is_webhook(self) -> bool:
        """Flows a webhook endpoint can start: not schedules, polls or lifecycle hooks."""
        return (
            self.trigger_type
            not in {
                TriggerType.SCHEDULE,
                TriggerType.INSTANCE_DEPLOY,
                TriggerType.INSTANCE_REMOVE,
            }
            and not self.is_polling
        )

    @property
    def is_polling(self) -> bool:
        """A polling trigger (``http.poll`` or a component's): its schedule asks a source
        for new items, and each new item starts a run."""
        return get_polling_trigger(self.trigger_type) is not None

    @property
    def is_component_trigger(self) -> bool:
        """A component's trigger (``<component>.<trigger>``) rather than a built-in type."""
        return is_component_key(self.trigger_type)

    @property
    def has_custom_response(self) -> bool:
        return self.response_status_code is not None


class Step(models.Model):
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=200)
    action = models.CharField(max_length=200)
    inputs = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["flow", "position"]
        constraints = [models.UniqueConstraint(fields=["flow", "name"], name="step_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.action})"
