"""The wizard's executions, scoped like everything else by ``instances.tenancy`` (whose
querysets and getters the views use directly): another customer's execution is a 404."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from executions.models import Execution
from instances.tenancy import Viewer, object_or_404, scoped_to_user


def executions_for_user(user: Viewer) -> QuerySet[Execution]:
    return scoped_to_user(Execution.objects.all(), user)


def get_execution_for_user(user: Viewer, execution_id: uuid.UUID | str) -> Execution:
    return object_or_404(
        executions_for_user(user).select_related("flow", "instance", "customer", "integration"),
        execution_id,
    )
