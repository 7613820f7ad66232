"""What every viewset of the management API shares: staff checks, strict query
parameters and page numbers, and the mapping of an instance service's refusals to 400."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

from api.exceptions import FieldErrors
from instances.errors import InstanceStateError
from instances.tenancy import is_staff
from integrations.config_values import ConfigValueError


def require_staff(request: Request) -> None:
    if not is_staff(request.user):
        raise PermissionDenied("Only organization staff may do this.")


def query_param(request: Request, name: str) -> str | None:
    """One query parameter's value, or None when absent. Given twice, or empty, it is
    refused (400) rather than half-applied or ignored: a filter the caller wrote and the
    API dropped would answer rows the caller did not ask for."""
    values = request.query_params.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise FieldErrors("Invalid filter.", {name: "Give it once."})
    if values[0] == "":
        raise FieldErrors("Invalid filter.", {name: "May not be empty."})
    if "\x00" in values[0]:
        # No stored name holds a NUL, and PostgreSQL refuses one in a query (a 500).
        raise FieldErrors("Invalid filter.", {name: "May not contain NUL characters."})
    return values[0]


def uuid_param(request: Request, name: str) -> uuid.UUID | None:
    raw = query_param(request, name)
    if raw is None:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError as error:
        raise FieldErrors("Invalid filter.", {name: "Must be a UUID."}) from error


def config_value_errors_as_fields(error: ConfigValueError) -> FieldErrors:
    """Per-key config value messages under the API's input paths (``configVariables.<key>``)."""
    fields = {f"configVariables.{key}": message for key, message in error.fields.items()}
    return FieldErrors("Invalid config values.", fields)


@contextmanager
def instance_errors_as_fields() -> Iterator[None]:
    """An instance service's refusals as the API's 400 ``{"error", "fields"}``."""
    try:
        yield
    except ConfigValueError as error:
        raise config_value_errors_as_fields(error) from error
    except InstanceStateError as error:
        raise FieldErrors(str(error), {}) from error


class StrictQueryMixin(viewsets.GenericViewSet):
    """Query parameters a view does not know are refused (400), not ignored: a mistyped
    filter (``?stauts=failed``) would otherwise answer every row as if it were asked for.
    ``list_filters`` names a viewset's filters; lists take ``page`` too; DRF's ``format``
    is allowed everywhere."""

    # The docstring above is the schema's description of every operation whose view has
    # none: change it and the OpenAPI document changes.

    list_filters: tuple[str, ...] = ()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # DRF leaves ``action`` None for a method the route does not take: its 405 comes next.
        if self.action is None:
            return
        known = {"format"}
        if self.action == "list":
            known |= {"page", *self.list_filters}
        unknown = sorted(set(request.query_params) - known)
        if unknown:
            raise FieldErrors(
                "Unknown query parameter.",
                {name: "Not a parameter of this operation." for name in unknown},
            )


class StrictPageNumberPagination(PageNumberPagination):
    """DRF's page numbers, with ``page`` checked like the filters: a whole number from 1,
    given once (DRF would take the last of several, and answer 404 for ``page=abc``)."""

    def get_page_number(self, request, paginator):
        raw = query_param(request, self.page_query_param)
        if raw is None:
            return 1
        if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
            raise FieldErrors("Invalid page.", {"page": "A whole number from 1."})
        return raw

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
        return parameters


CONFLICT_RESPONSE = OpenApiResponse(
    inline_serializer("Conflict", {"error": serializers.CharField()}),
    description="The object's state does not allow it; `error` says why.",
)
