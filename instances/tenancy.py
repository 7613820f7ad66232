"""Tenant scoping, in one place for every surface (the management API, the wizard).

Staff see everything. A customer user sees only its own customer's objects; everything
else does not exist for it (404, never 403). A user that is neither sees nothing.

Rows of the layers above (executions) are scoped with ``scoped_to_user`` on their
``customer`` field, so this module needs no model but its own.
"""

from __future__ import annotations

import uuid
from typing import TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, QuerySet
from django.http import Http404

from instances.models import Customer, Instance
from integrations.models import Integration

# Who is asking: request.user of the API or the wizard (signed in or anonymous), or nobody.
Viewer = AbstractBaseUser | AnonymousUser | None

ScopedModel = TypeVar("ScopedModel", bound=Model)


def is_staff(user: Viewer) -> bool:
    return bool(user and user.is_authenticated and getattr(user, "is_staff", False))


def user_customer(user: Viewer) -> Customer | None:
    membership = getattr(user, "customer_membership", None)
    return membership.customer if membership is not None else None


def scoped_to_user(queryset: QuerySet[ScopedModel], user: Viewer) -> QuerySet[ScopedModel]:
    """``queryset`` narrowed to the rows ``user`` may see, by their ``customer`` field:
    all of them for staff, its own customer's for a customer user, none for anyone else."""
    if is_staff(user):
        return queryset
    customer = user_customer(user)
    return queryset.filter(customer=customer) if customer else queryset.none()


def customers_for_user(user: Viewer) -> QuerySet[Customer]:
    if is_staff(user):
        return Customer.objects.all()
    customer = user_customer(user)
    return Customer.objects.filter(pk=customer.pk) if customer else Customer.objects.none()


def instances_for_user(user: Viewer) -> QuerySet[Instance]:
    return scoped_to_user(Instance.objects.live(), user)


def integrations_for_user(user: Viewer) -> QuerySet[Integration]:
    """Staff see every integration; a customer user those its instances run."""
    if is_staff(user):
        return Integration.objects.all()
    customer = user_customer(user)
    if customer is None:
        return Integration.objects.none()
    return Integration.objects.filter(
        instances__customer=customer, instances__removed_at__isnull=True
    ).distinct()


def integrations_offered_for_user(user: Viewer) -> list[Integration]:
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


def integration_for_new_instance(
    user: Viewer, integration_id: uuid.UUID | str
) -> Integration | None:
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


def object_or_404(queryset: QuerySet[ScopedModel], object_id: uuid.UUID | str) -> ScopedModel:
    """The row of a (scoped) queryset with this id; a missing one, another tenant's, or an
    id that is not a UUID is a 404."""
    try:
        return queryset.get(pk=uuid.UUID(str(object_id)))
    except (ValueError, ObjectDoesNotExist) as error:
        raise Http404("Not found.") from error


def get_instance_for_user(user: Viewer, instance_id: uuid.UUID | str) -> Instance:
    return object_or_404(
        instances_for_user(user).select_related("integration", "customer"), instance_id
    )


def get_integration_for_user(user: Viewer, integration_id: uuid.UUID | str) -> Integration:
    """The integration a new instance may be made of (``integration_for_new_instance``);
    anything else is a 404."""
    integration = integration_for_new_instance(user, integration_id)
    if integration is None:
        raise Http404("Not found.")
    return integration
