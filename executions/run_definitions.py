"""What every run reads of its definition, cached per process: the flow's steps, the
integration's config variable defaults, and the instance, customer, integration and flow
rows the execution points to.

A run of a one-step flow made two queries for the first two (≈ 1.5 ms of its ≈ 8 ms on the
worker) and joined four tables for the rows (≈ 1 ms more than reading the execution alone);
a synchronous caller's answer a query more (the step count that tells a stop from a last
step). They change only through the ORM, one row at a time (the admin's inlines and forms,
the services; an import creates new rows under new ids), so they share the routing cache
(``core.cache``), whose signals cover all six models: a saved or deleted row
drops the changing process's entries at once and every other process's within 0.1 s of
the commit, and entries expire after 60 s as a backstop.

Cached rows are shared between runs: callers read them and never change them.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from django.db.models import Model

from core.cache import routing_cache
from executions.models import Execution
from instances.models import Customer, Instance
from integrations.config_values import config_values_opened
from integrations.models import ConfigVariable, Flow, Integration, Step
from integrations.secrets import secret_open_if_sealed, variable_default_context


def flow_steps(flow_id: uuid.UUID | str) -> tuple[Step, ...]:
    """The flow's steps in run order."""
    return routing_cache.get(
        ("flow-steps", str(flow_id)),
        lambda: tuple(Step.objects.filter(flow_id=flow_id).order_by("position", "id")),
    )


def config_defaults(integration_id: uuid.UUID | str) -> dict[str, Any]:
    """The integration's config variables that have a default, key → a fresh copy of it (a
    run may change the value it is handed; the cached one stays as defined)."""
    defaults = routing_cache.get(
        ("config-defaults", str(integration_id)),
        lambda: tuple(
            (key, default)
            for key, default in ConfigVariable.objects.filter(integration_id=integration_id)
            .order_by("position", "id")
            .values_list("key", "default")
            if default is not None
        ),
    )
    return {key: copy.deepcopy(default) for key, default in defaults}


def config_vars_for(*, integration: Integration, instance: Instance) -> dict[str, Any]:
    """What ``configVars`` reads at run time: the instance's values, with the integration's
    defaults for keys it has not set (variables added by a later version, say), secrets
    opened. Only runs and checks (signatures, component triggers, deploy hooks) call it."""
    resolved = config_values_opened(instance)
    for key, default in config_defaults(integration.pk).items():
        if resolved.get(key) is None:
            resolved[key] = secret_open_if_sealed(
                default, context=variable_default_context(integration.pk, key)
            )
    return resolved


def _row(model: type[Model], pk: uuid.UUID | str) -> Any:
    return routing_cache.get(
        (model._meta.label, str(pk)), lambda: model._default_manager.get(pk=pk)
    )


def execution_rows_attach(execution: Execution) -> None:
    """Set the execution's instance, customer, integration and flow from the cache, as
    ``select_related`` would from a join. Raises the model's DoesNotExist for a row gone."""
    execution.instance = _row(Instance, execution.instance_id)
    execution.customer = _row(Customer, execution.customer_id)
    execution.integration = _row(Integration, execution.integration_id)
    execution.flow = _row(Flow, execution.flow_id)
