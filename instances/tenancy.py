"""Tenant scoping for the management API, in one place.

Staff see everything. A customer user sees only its own customer's objects; everything
else does not exist for it (404, never 403). A user that is neither sees nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet

from executions.models import Execution
from instances.models import Customer, Instance
from integrations.models import Integration


def is_staff(user) -> bool:
    return bool(user and user.is_authenticated and user.is_staff)


def user_customer(user) -> Customer | None:
    membership = getattr(user, "customer_membership", None)
    return membership.customer if membership is not None else None


def customers_for_user(user) -> QuerySet[Customer]:
    if is_staff(user):
        return Customer.objects.all()
    customer = user_customer(user)
    return Customer.objects.filter(pk=customer.pk) if customer else Customer.objects.none()


def instances_for_user(user) -> QuerySet[Instance]:
    live = Instance.objects.live()
    if is_staff(user):
        return live
    customer = user_customer(user)
    return live.filter(customer=customer) if customer else Instance.objects.none()


def executions_for_user(user) -> QuerySet[Execution]:
    if is_staff(user):
        return Execution.objects.all()
    customer = user_customer(user)
    return Execution.objects.filter(customer=customer) if customer else Execution.objects.none()


def integrations_for_user(user) -> QuerySet[Integration]:
    """Staff see every integration; a customer user those its instances run."""
    if is_staff(user):
        return Integration.objects.all()
    customer = user_customer(user)
    if customer is None:
        return Integration.objects.none()
    return Integration.objects.filter(
        instances__customer=customer, instances__removed_at__isnull=True
    ).distinct()


def integrations_offered_for_user(user) -> list[Integration]:
    """What a user may start a new instance of: the newest version of each integration
    name. Staff: every integration. A customer user: those its customer already runs (an
    integration reaches a customer when the deployment team first deploys it there)."""
    names = integrations_for_user(user).values_list("name", flat=True).distinct()
    newest: dict[str, Integration] = {}
    for integration in Integration.objects.filter(name__in=list(names)).order_by(
        "name", "-version"
    ):
        newest.setdefault(integration.name, integration)
    return list(newest.values())


def integration_for_new_instance(user, integration_id: Any) -> Integration | None:
    """The integration ``user`` may create an instance of, by id, or None (answered 404
    like a missing one). The wizard and the API both ask here. A customer user gets one
    of ``integrations_offered_for_user``; staff any version (deploy moves an instance to
    the newest one anyway)."""
    try:
        wanted = uuid.UUID(str(integration_id))
    except ValueError:
        return None
    if is_staff(user):
        return Integration.objects.filter(pk=wanted).first()
    return next((i for i in integrations_offered_for_user(user) if i.pk == wanted), None)
