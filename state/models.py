"""Persisted state (SPEC §7): what flows remember between runs, one row per key.

A row per key, not a JSON object per scope, so two runs that write different keys never
overwrite each other and an increment locks one row, not the scope. Owners are kept by
what outlives a redeploy: flow state by the flow's *name* within its instance, integration
state by the integration's *name* across its versions.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from instances.models import Instance

# A key is a name a flow's author writes ('cursor', 'Access Token'), not data.
STATE_KEY_MAX_LENGTH = 255


class StateScope(models.TextChoices):
    FLOW = "flow", "flow"
    INSTANCE = "instance", "instance"
    INTEGRATION = "integration", "integration"


class StateEntry(models.Model):
    scope = models.CharField(max_length=16, choices=StateScope.choices)
    # Flow and instance state go with their instance; integration state has none.
    instance = models.ForeignKey(
        Instance, on_delete=models.CASCADE, null=True, blank=True, related_name="state_entries"
    )
    flow_name = models.CharField(max_length=200, blank=True, default="")
    integration_name = models.CharField(max_length=200, blank=True, default="")
    key = models.CharField(max_length=STATE_KEY_MAX_LENGTH)
    value = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "state entry"
        verbose_name_plural = "state entries"
        # One row per owner and key. Their indexes are also what a run's snapshot loads a
        # scope by: each one's leading columns are the owner (on PostgreSQL the partial
        # index matches the scope's own branch of the snapshot's OR).
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "flow_name", "key"],
                condition=Q(scope="flow"),
                name="state_flow_key_unique",
            ),
            models.UniqueConstraint(
                fields=["instance", "key"],
                condition=Q(scope="instance"),
                name="state_instance_key_unique",
            ),
            models.UniqueConstraint(
                fields=["integration_name", "key"],
                condition=Q(scope="integration"),
                name="state_integration_key_unique",
            ),
            # Each scope's owner columns and nothing else, so a row belongs to one owner.
            models.CheckConstraint(
                condition=(
                    Q(
                        scope="flow",
                        instance__isnull=False,
                        integration_name="",
                    )
                    & ~Q(flow_name="")
                )
                | Q(scope="instance", instance__isnull=False, flow_name="", integration_name="")
                | (
                    Q(scope="integration", instance__isnull=True, flow_name="")
                    & ~Q(integration_name="")
                ),
                name="state_owner_matches_scope",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope} state {self.key!r}"
