"""Tenant scoping for the management API, in one place.

Staff see everything. A customer user sees only its own customer's objects; everything
else does not exist for it (404, never 403). A user that is neither sees nothing.
"""

from __future__ import annotations

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
