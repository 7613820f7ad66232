"""Tenancy for the wizard, in one place: the management API's scoped querysets
(``instances.tenancy``), so both surfaces agree on who sees what. Staff see every customer's
objects; a customer user its own customer's; anything else is a 404, never a 403."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from executions.models import Execution
from instances.models import Customer, Instance
from instances.tenancy import (
    customers_for_user,
    executions_for_user,
    instances_for_user,
    integration_for_new_instance,
    integrations_offered_for_user,
    is_staff,
    user_customer,
)
from integrations.models import Integration

__all__ = [
    "customers_for_user",
    "executions_for_user",
    "get_execution_for_user",
    "get_instance_for_user",
    "get_integration_for_user",
    "instances_for_user",
    "integrations_offered_for_user",
    "is_staff",
    "user_customer",
]


def _get(queryset: QuerySet, object_id: Any) -> Any:
    try:
        return queryset.get(pk=uuid.UUID(str(object_id)))
    except (ValueError, queryset.model.DoesNotExist) as error:
        raise Http404("Not found.") from error


def get_instance_for_user(user, instance_id: Any) -> Instance:
    return _get(instances_for_user(user).select_related("integration", "customer"), instance_id)


def get_execution_for_user(user, execution_id: Any) -> Execution:
    return _get(
        executions_for_user(user).select_related("flow", "instance", "customer", "integration"),
        execution_id,
    )


def get_integration_for_user(user, integration_id: Any) -> Integration:
    """The integration a new instance may be made of (``instances.tenancy``'s rule, shared with
    the API); anything else is a 404."""
    integration = integration_for_new_instance(user, integration_id)
    if integration is None:
        raise Http404("Not found.")
    return integration


def customer_for_new_instance(user, customer_id: Any | None) -> Customer:
    """The customer a new instance belongs to: the user's own, or (staff) the one chosen."""
    if not is_staff(user):
        customer = user_customer(user)
        if customer is None:
            raise Http404("Not found.")
        return customer
    return _get(customers_for_user(user), customer_id)
