"""Tenants and deployments: customers, their users, instances and API keys."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from django.conf import settings
from django.db import models

from integrations.config_values import config_values_seal
from integrations.models import ConfigVariable, ConfigVariableType, EndpointType, Integration


class Customer(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    external_id = models.CharField(
        max_length=200,
        unique=True,
        help_text="The vendor's id for this customer; routes shared endpoints.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CustomerUser(models.Model):
    """Makes a Django user a customer user: it sees only this customer's objects."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="customer_membership"
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="users")

    def __str__(self) -> str:
        return f"{self.user} @ {self.customer}"


class InstanceQuerySet(models.QuerySet):
    def live(self) -> InstanceQuerySet:
        """Instances not removed. Removed rows stay so their executions keep an owner."""
        return self.filter(removed_at__isnull=True)

    def running(self) -> InstanceQuerySet:
        """Instances whose triggers fire: deployed, enabled, not removed."""
        return self.live().filter(enabled=True, deployed_at__isnull=False)


# What every surface shows instead of a stored secret config value (the API, the admin).
SECRET_MASK = "••••••"  # noqa: S105 - a mask, not a secret


def api_key_masked(key: str) -> str:
    """An API key as every surface shows it before it is revealed: the mask and the last
    four characters, which tell an instance's keys apart."""
    return f"{SECRET_MASK}{key[-4:]}"


class Instance(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="instances")
    # The version this instance runs; deploy moves it to the newest version of the name.
    integration = models.ForeignKey(Integration, on_delete=models.PROTECT, related_name="instances")
    name = models.CharField(max_length=200)
    enabled = models.BooleanField(default=True)
    # What runs, signature checks, component triggers and schedules read.
    config_values = models.JSONField(default=dict, blank=True)
    # Values saved for a deployed instance wait here until its next deploy applies them
    # (SPEC §5); null when nothing is staged. Sealed like ``config_values``.
    pending_config_values = models.JSONField(null=True, blank=True)
    deployed_at = models.DateTimeField(null=True, blank=True)
    # A keyed hash of the name and config values as the last deploy left them, so the API
    # can say whether they changed since (instances.services.instance_changed_since_deploy).
    deployed_fingerprint = models.CharField(max_length=64, blank=True, default="")
    removed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = InstanceQuerySet.as_manager()

    class Meta:
        ordering = ["customer", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.customer})"

    def save(self, *args, **kwargs) -> None:
        # Secret values reach the database only sealed, whoever saves (services, admin,
        # fixtures); stored values saved again stay as they are.
        update_fields = kwargs.get("update_fields")
        seal_live = update_fields is None or "config_values" in update_fields
        seal_pending = self.pending_config_values is not None and (
            update_fields is None or "pending_config_values" in update_fields
        )
        if seal_live or seal_pending:
            secret_keys = set(
                ConfigVariable.objects.filter(
                    integration_id=self.integration_id, type=ConfigVariableType.SECRET
                ).values_list("key", flat=True)
            )
        if seal_live:
            self.config_values = config_values_seal(
                instance_id=self.pk, secret_keys=secret_keys, values=self.config_values
            )
        if seal_pending and self.pending_config_values is not None:
            self.pending_config_values = config_values_seal(
                instance_id=self.pk, secret_keys=secret_keys, values=self.pending_config_values
            )
        super().save(*args, **kwargs)

    @property
    def shown_config_values(self) -> dict:
        """The values a user sees and edits (stored form, secrets sealed): the staged ones
        when there are any, else the live ones."""
        if self.pending_config_values is not None:
            return self.pending_config_values
        return self.config_values or {}

    def config_values_masked(self) -> dict[str, Any]:
        """``shown_config_values`` as a user may see them: a secret that holds a value is
        ``SECRET_MASK`` (an empty one stays empty, so "not set" still shows)."""
        secret_keys = {
            variable.key
            for variable in self.integration.config_variables.all()  # prefetched by lists
            if variable.type == ConfigVariableType.SECRET
        }
        return {
            key: SECRET_MASK if key in secret_keys and value else value
            for key, value in self.shown_config_values.items()
        }

    @property
    def is_deployed(self) -> bool:
        return self.deployed_at is not None and self.removed_at is None


def generate_api_key() -> str:
    return secrets.token_urlsafe(32)


class ApiKey(models.Model):
    """A key callers send as ``Api-Key``. Bound to one instance flow, or, with no
    instance, valid organization-wide (flows whose security is ``organization``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    instance = models.ForeignKey(
        Instance, null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys"
    )
    flow_name = models.CharField(max_length=200, blank=True)
    key = models.CharField(max_length=128, unique=True, default=generate_api_key)
    label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["instance", "flow_name"])]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.flow_name or 'organization'} key …{self.key[-4:]}"


def generate_endpoint_token() -> str:
    # 24 random bytes -> 32 URL-safe characters; never derived from a database id.
    return secrets.token_urlsafe(24)


class Endpoint(models.Model):
    """One webhook URL. What its token names depends on the endpoint type:

    - ``flow_specific``: an instance and a flow name;
    - ``instance_specific``: an instance (the flow comes from routing);
    - ``shared_instance``: an integration name (customer and flow come from routing).

    Flows are named, not linked, so a token survives redeploys onto new versions: third
    parties keep the URL they registered.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    token = models.CharField(max_length=64, unique=True, default=generate_endpoint_token)
    endpoint_type = models.CharField(max_length=32, choices=EndpointType.choices)
    integration_name = models.CharField(max_length=200)
    instance = models.ForeignKey(
        Instance, null=True, blank=True, on_delete=models.CASCADE, related_name="endpoints"
    )
    flow_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # The table, its migrations and the admin's URLs (/admin/triggers/endpoint/) keep
        # the label the model was created under; the class lives here because an endpoint is
        # an instance's fact (its URLs), read by the runner and the API below the webhook edge.
        app_label = "triggers"
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "flow_name"],
                condition=models.Q(instance__isnull=False),
                name="endpoint_per_instance_flow",
            ),
            models.UniqueConstraint(
                fields=["integration_name"],
                condition=models.Q(instance__isnull=True),
                name="endpoint_per_shared_integration",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint_type} …{self.token[-6:]}"


class PollState(models.Model):
    """Where one instance flow's polling trigger stands (SPEC §8). Keyed by flow name, so
    a redeploy to a new version keeps the cursor and the ids seen; deleted when the
    instance is removed or its version no longer has the polling flow."""

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="poll_states")
    flow_name = models.CharField(max_length=200)
    cursor = models.JSONField(null=True, blank=True)
    # A poll has succeeded since the state began: before it, onDeploy decides whether the
    # items found run (backfill) or are only recorded as seen (skip).
    primed = models.BooleanField(default=False)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_item_count = models.PositiveIntegerField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    # Fires scheduled before this time are skipped (after 3 consecutive failures).
    backoff_until = models.DateTimeField(null=True, blank=True)
    # Set while a poll runs (the claim that keeps polls from overlapping).
    polling_since = models.DateTimeField(null=True, blank=True)
    skipped_overlapping = models.PositiveIntegerField(default=0)
    skipped_backing_off = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["instance", "flow_name"], name="poll_state_per_flow")
        ]

    def __str__(self) -> str:
        return f"{self.flow_name}: cursor {self.cursor!r}"


class PollSeenItem(models.Model):
    """An item id a polling flow has seen: seen again within the window, it starts
    nothing. Ids longer than the column are stored as their SHA-256."""

    state = models.ForeignKey(PollState, on_delete=models.CASCADE, related_name="seen_items")
    item_id = models.CharField(max_length=255)
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            # Also the index every poll's "which of these ids are known" lookup uses.
            models.UniqueConstraint(fields=["state", "item_id"], name="poll_seen_item_once")
        ]
        # Pruning reads a flow's ids newest first.
        indexes = [models.Index(fields=["state", "seen_at"], name="poll_seen_item_age")]

    def __str__(self) -> str:
        return self.item_id
