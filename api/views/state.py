"""Persisted state over the API (SPEC §7): ``/instances/{id}/state`` and
``/integrations/{id}/state``, read with GET and changed with a JSON merge patch (RFC 7396).

Mixed into the instance and integration viewsets, so each object is found, and hidden from
other tenants, exactly as its detail is. The patch itself is ``state.editing``'s.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from api.exceptions import FieldErrors
from api.parsers import JSONParser
from api.views.common import require_staff
from instances.tenancy import is_staff
from state.editing import (
    StatePatchError,
    state_instance_patch_apply,
    state_instance_read,
    state_integration_patch_apply,
    state_integration_read,
)


class StateBodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The body is too large."


class MergePatchParser(JSONParser):
    """RFC 7396's own media type; the body is JSON all the same."""

    media_type = "application/merge-patch+json"


def _patch_body(request: Request) -> Any:
    """The parsed body. Its size is Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (2.5 MiB by
    default), answered 413 here rather than Django's bare 400."""
    try:
        return request.data
    except RequestDataTooBig as error:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raise StateBodyTooLarge(
            f"The body is over the limit of {limit} bytes (DATA_UPLOAD_MAX_MEMORY_SIZE)."
        ) from error


def _patch_errors_as_fields(error: StatePatchError) -> FieldErrors:
    return FieldErrors(error.summary, error.fields)


STATE_PARSERS = [JSONParser, MergePatchParser]
TOO_LARGE = OpenApiResponse(
    inline_serializer("StateBodyTooLarge", {"error": serializers.CharField()}),
    description="The body is over the limit.",
)
InstanceState = inline_serializer(
    "InstanceState",
    {
        "instance": serializers.DictField(help_text="The instance scope: key → JSON value."),
        "flows": serializers.DictField(
            child=serializers.DictField(),
            help_text="Flow name → that flow's scope (key → JSON value); every flow of the "
            "integration, `{}` when it has no state, and any other flow name that has state.",
        ),
    },
)
InstanceStatePatch = inline_serializer(
    "InstanceStatePatch",
    {
        "instance": serializers.DictField(
            required=False,
            allow_null=True,
            help_text="A merge patch of the instance scope: `null` deletes a key; `null` "
            "for the whole scope clears it.",
        ),
        "flows": serializers.DictField(
            child=serializers.DictField(allow_null=True),
            required=False,
            allow_null=True,
            help_text="Flow name → a merge patch of that flow's scope (`null` clears it); "
            "`null` for `flows` clears every flow's.",
        ),
    },
)
PATCH_DESCRIPTION = (
    "A JSON merge patch (RFC 7396), sent as `application/json` or "
    "`application/merge-patch+json`. Its members are state keys: `null` deletes the key, an "
    "object merges into the object the key holds (member by member, `null` deleting), any "
    "other value replaces the key's value. Keys the patch does not name are left as they "
    "are, so a run committing other keys meanwhile keeps them. The runner's limits hold "
    "(`TRIGGERFISH_STATE_MAX_VALUE_BYTES` per value, 1,000 keys per scope): refused with 400 "
    "naming the key in `fields`, and nothing is written. Staff only. Answers the whole state "
    "after the patch."
)


class InstanceStateMixin(viewsets.GenericViewSet):
    """``GET``/``PATCH /instances/{id}/state``: the instance's flow and instance scopes."""

    @extend_schema(
        methods=["GET"],
        summary="An instance's persisted state: its flows' and its own",
        responses={200: InstanceState},
    )
    @extend_schema(
        methods=["PATCH"],
        summary="Change an instance's persisted state with a merge patch (staff)",
        description=PATCH_DESCRIPTION + " Flow names are those of the instance's integration "
        "and any other that has state; another is refused naming `flows.<name>`.",
        request={
            "application/json": InstanceStatePatch,
            "application/merge-patch+json": InstanceStatePatch,
        },
        responses={200: InstanceState, 413: TOO_LARGE},
        examples=[
            OpenApiExample(
                "Move a cursor, drop a token",
                value={
                    "flows": {"Poll orders": {"since": "2026-01-01T00:00:00Z"}},
                    "instance": {"Access Token": None},
                },
                request_only=True,
            )
        ],
    )
    @action(detail=True, methods=["get", "patch"], url_path="state", parser_classes=STATE_PARSERS)
    def state(self, request: Request, pk: str | None = None) -> Response:
        instance = self.get_object()
        if request.method == "GET":
            return Response(state_instance_read(instance=instance))
        require_staff(request)
        try:
            return Response(
                state_instance_patch_apply(instance=instance, patch=_patch_body(request))
            )
        except StatePatchError as error:
            raise _patch_errors_as_fields(error) from error


class IntegrationStateMixin(viewsets.GenericViewSet):
    """``GET``/``PATCH /integrations/{id}/state``: the scope of the integration's name."""

    @extend_schema(
        methods=["GET"],
        summary="The integration scope of this integration's name, any version (staff)",
        responses={200: OpenApiTypes.OBJECT},
    )
    @extend_schema(
        methods=["PATCH"],
        summary="Change the integration scope with a merge patch (staff)",
        description=PATCH_DESCRIPTION + " Any version's id names its integration's scope.",
        request={
            "application/json": OpenApiTypes.OBJECT,
            "application/merge-patch+json": OpenApiTypes.OBJECT,
        },
        responses={200: OpenApiTypes.OBJECT, 413: TOO_LARGE},
    )
    @action(detail=True, methods=["get", "patch"], url_path="state", parser_classes=STATE_PARSERS)
    def state(self, request: Request, pk: str | None = None) -> Response:
        # SPEC §7: not a customer user's to see at all, so as if it did not exist.
        if not is_staff(request.user):
            raise NotFound()
        integration = self.get_object()
        if request.method == "GET":
            return Response(state_integration_read(integration_name=integration.name))
        try:
            state = state_integration_patch_apply(
                integration_name=integration.name, patch=_patch_body(request)
            )
        except StatePatchError as error:
            raise _patch_errors_as_fields(error) from error
        return Response(state)
