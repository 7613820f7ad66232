"""The management API (SPEC §5): thin views over the services; tenancy from instances.tenancy."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from api import serializers as s
from api.exceptions import FieldErrors
from executions.models import Execution, ExecutionStatus, StepResult
from executions.services import ReplayRefused, execution_replay
from instances.errors import InstanceStateError
from instances.lifecycle import instance_deploy, instance_enable, instance_pause, instance_remove
from instances.models import Customer, CustomerUser, Instance
from instances.services import (
    api_key_add,
    api_key_revoke,
    customer_create,
    instance_create,
    instance_update,
)
from instances.tenancy import (
    customers_for_user,
    executions_for_user,
    instances_for_user,
    integration_for_new_instance,
    integrations_for_user,
    is_staff,
)
from integrations.config_values import ConfigValueError
from integrations.definitions import DefinitionError, integration_import_if_changed
from integrations.models import Integration


class RawDefinitionParser(BaseParser):
    """Definitions arrive as YAML or JSON text; the importer parses and validates them."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        return stream.read()


def _require_staff(request: Request) -> None:
    if not is_staff(request.user):
        raise PermissionDenied("Only organization staff may do this.")


def _query_param(request: Request, name: str) -> str | None:
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


def _uuid_param(request: Request, name: str) -> uuid.UUID | None:
    raw = _query_param(request, name)
    if raw is None:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError as error:
        raise FieldErrors("Invalid filter.", {name: "Must be a UUID."}) from error


@contextmanager
def _instance_errors_as_fields() -> Iterator[None]:
    """An instance service's refusals as the API's 400 ``{"error", "fields"}``."""
    try:
        yield
    except ConfigValueError as error:
        fields = {f"configVariables.{key}": message for key, message in error.fields.items()}
        raise FieldErrors("Invalid config values.", fields) from error
    except InstanceStateError as error:
        raise FieldErrors(str(error), {}) from error


class StrictQueryMixin:
    """Query parameters a view does not know are refused (400), not ignored: a mistyped
    filter (``?stauts=failed``) would otherwise answer every row as if it were asked for.
    ``list_filters`` names a viewset's filters; lists take ``page`` too; DRF's ``format``
    is allowed everywhere."""

    list_filters: tuple[str, ...] = ()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if self.action is None:  # a method the route does not take: its 405 comes next
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
        raw = _query_param(request, self.page_query_param)
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
# What a result URL serves is the flow's choice (triggers.sync.answers.result_render): JSON by
# default, text, bytes, or any content type the result names.
_RESULT_BODIES = {
    (200, "application/json"): OpenApiResponse(OpenApiTypes.ANY, description="The result."),
    (200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="A text result."),
    (200, "application/octet-stream"): OpenApiResponse(
        OpenApiTypes.BINARY, description="A bytes result."
    ),
    (200, "*/*"): OpenApiResponse(
        OpenApiTypes.BINARY, description="A result with the content type the flow chose."
    ),
}
STEP_RESULT_RESPONSES = {**_RESULT_BODIES, (409, "application/json"): CONFLICT_RESPONSE}
RESULT_RESPONSES = {
    **STEP_RESULT_RESPONSES,
    (202, "application/json"): OpenApiResponse(
        inline_serializer("ExecutionPending", {"status": serializers.CharField()}),
        description="The run is not finished; ask again.",
    ),
}


class IntegrationViewSet(StrictQueryMixin, viewsets.ReadOnlyModelViewSet):
    pagination_class = StrictPageNumberPagination
    queryset = Integration.objects.none()  # for the schema; requests use get_queryset
    lookup_value_converter = "uuid"

    def get_queryset(self):
        queryset = integrations_for_user(self.request.user)
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("flows__steps", "config_variables")
        return queryset

    def get_serializer_class(self):
        return (
            s.IntegrationDetailSerializer
            if self.action == "retrieve"
            else s.IntegrationListSerializer
        )

    @extend_schema(
        request={"application/yaml": str, "application/json": dict},
        responses={201: s.IntegrationImportSerializer, 200: s.IntegrationImportSerializer},
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[RawDefinitionParser])
    def import_definition(self, request: Request) -> Response:
        _require_staff(request)
        try:
            outcome = integration_import_if_changed(
                definition=request.data, content_type=request.content_type
            )
        except DefinitionError as error:
            raise FieldErrors("Invalid integration definition.", dict(error.errors)) from error
        summary = s.IntegrationSummarySerializer(outcome.integration).data
        return Response(
            {**summary, "created": outcome.created},
            status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK,
        )


class CustomerViewSet(
    StrictQueryMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.CustomerSerializer
    # JSON bodies only (SPEC §5): a form body turns every value into text, so a list or a
    # null sent as a name would be stored as its string form instead of being refused.
    parser_classes = [JSONParser]
    pagination_class = StrictPageNumberPagination
    queryset = Customer.objects.none()
    lookup_value_converter = "uuid"

    def get_queryset(self):
        return customers_for_user(self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        _require_staff(request)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer = customer_create(
            name=serializer.validated_data["name"],
            external_id=serializer.validated_data["external_id"],
        )
        return Response(self.get_serializer(customer).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.CustomerUserCreateSerializer, responses={201: dict})
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def users(self, request: Request, pk: str | None = None) -> Response:
        _require_staff(request)
        customer = self.get_object()
        serializer = s.CustomerUserCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            with transaction.atomic():
                user = get_user_model().objects.create_user(
                    username=data["username"],
                    password=data["password"],
                    email=data.get("email", ""),
                )
                CustomerUser.objects.create(user=user, customer=customer)
        except IntegrityError as error:
            raise FieldErrors("Invalid input.", {"username": "This username is taken."}) from error
        return Response(
            {"id": user.pk, "username": user.username, "customer": str(customer.pk)},
            status=status.HTTP_201_CREATED,
        )


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("customer", OpenApiTypes.UUID, description="Customer id"),
            OpenApiParameter("integration", OpenApiTypes.UUID, description="Integration id"),
        ]
    )
)
class InstanceViewSet(
    StrictQueryMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    pagination_class = StrictPageNumberPagination
    parser_classes = [JSONParser]  # as CustomerViewSet
    list_filters = ("customer", "integration")
    queryset = Instance.objects.none()  # for the schema; requests use get_queryset
    lookup_value_converter = "uuid"

    def get_queryset(self):
        queryset = instances_for_user(self.request.user).select_related("integration", "customer")
        queryset = queryset.prefetch_related("integration__flows", "integration__config_variables")
        if self.action == "list":
            for name in ("customer", "integration"):
                value = _uuid_param(self.request, name)
                if value is not None:
                    queryset = queryset.filter(**{f"{name}_id": value})
        return queryset

    def get_serializer_class(self):
        if self.action == "create":
            return s.InstanceCreateSerializer
        return s.InstanceDetailSerializer if self.action != "list" else s.InstanceSerializer

    @extend_schema(request=s.InstanceCreateSerializer, responses={201: s.InstanceDetailSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = s.InstanceCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        customer = customers_for_user(request.user).filter(pk=data["customer"]).first()
        if customer is None:
            raise FieldErrors("Invalid input.", {"customer": "No such customer."})
        # The wizard's rule (instances.tenancy): a customer user starts only integrations its
        # customer already runs; any other is answered like a missing one.
        integration = integration_for_new_instance(request.user, data["integration"])
        if integration is None:
            raise NotFound()
        try:
            instance = instance_create(
                integration=integration,
                customer=customer,
                name=data["name"],
                config_values=data["configVariables"],
            )
        except ConfigValueError as error:
            fields = {f"configVariables.{key}": message for key, message in error.fields.items()}
            raise FieldErrors("Invalid config values.", fields) from error
        return Response(
            s.InstanceDetailSerializer(instance, context=self.get_serializer_context()).data,
            status=201,
        )

    @extend_schema(
        request=s.InstancePatchSerializer,
        responses={200: s.InstanceDetailSerializer},
        summary="Change an instance's name or config values",
        description="Only the keys given change; a secret left out keeps its value. Values "
        "are checked as on create. What a deploy does with them (deploy flows and trigger "
        "hooks, the move to the newest version) waits for the next deploy; "
        "`changedSinceDeploy` says whether one is due.",
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()
        serializer = s.InstancePatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with _instance_errors_as_fields():
            instance_update(
                instance=instance,
                name=data.get("name"),
                config_values=data.get("configVariables"),
            )
        return self._detail_response(instance)

    def perform_destroy(self, instance) -> None:
        instance_remove(instance=instance, user=self.request.user)

    def _lifecycle(self, operation, request: Request) -> Response:
        instance = self.get_object()
        with _instance_errors_as_fields():
            operation(instance=instance, user=request.user)
        return self._detail_response(instance)

    def _detail_response(self, instance) -> Response:
        fresh = self.get_queryset().get(pk=instance.pk)
        return Response(
            s.InstanceDetailSerializer(fresh, context=self.get_serializer_context()).data
        )

    @extend_schema(request=None, responses={200: s.InstanceDetailSerializer})
    @action(detail=True, methods=["post"])
    def deploy(self, request: Request, pk: str | None = None) -> Response:
        return self._lifecycle(instance_deploy, request)

    @extend_schema(request=None, responses={200: s.InstanceDetailSerializer})
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        return self._lifecycle(instance_pause, request)

    @extend_schema(request=None, responses={200: s.InstanceDetailSerializer})
    @action(detail=True, methods=["post"])
    def enable(self, request: Request, pk: str | None = None) -> Response:
        return self._lifecycle(instance_enable, request)

    @extend_schema(
        request=s.CancelQueuedSerializer,
        responses={200: s.CancelQueuedResultSerializer},
        description="Cancel the instance's queued executions (waiting retries included), "
        "of every flow or of the one named by `flow`. Running executions go on.",
    )
    @action(detail=True, methods=["post"], url_path="cancel-queued", parser_classes=[JSONParser])
    def cancel_queued(self, request: Request, pk: str | None = None) -> Response:
        from executions.queues import executions_cancel_queued

        instance = self.get_object()
        serializer = s.CancelQueuedSerializer(data=request.data or {})
        serializer.is_valid(raise_exception=True)
        canceled = executions_cancel_queued(
            instance_id=instance.pk, flow_name=serializer.validated_data.get("flow")
        )
        return Response({"canceled": canceled})

    @extend_schema(request=None, responses={201: s.ApiKeySerializer})
    @action(detail=True, methods=["post"], url_path=r"flows/(?P<flow_name>[^/]+)/api-keys")
    def api_keys(self, request: Request, pk: str | None = None, flow_name: str = "") -> Response:
        instance = self.get_object()
        try:
            api_key = api_key_add(instance=instance, flow_name=flow_name)
        except InstanceStateError as error:
            raise FieldErrors(str(error), {"flow": str(error)}) from error
        return Response({"key": api_key.key}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    @action(
        detail=True,
        methods=["delete"],
        url_path=r"flows/(?P<flow_name>[^/]+)/api-keys/(?P<key>[^/]+)",
    )
    def api_key_delete(
        self, request: Request, pk: str | None = None, flow_name: str = "", key: str = ""
    ) -> Response:
        instance = self.get_object()
        if not api_key_revoke(instance=instance, flow_name=flow_name, key=key):
            return Response({"error": "Not found."}, status=status.HTTP_404_NOT_FOUND)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("instance", OpenApiTypes.UUID, description="Instance id"),
            OpenApiParameter("flow", str, description="Flow name"),
            OpenApiParameter("status", str, enum=ExecutionStatus.values, description="Status"),
        ]
    )
)
class ExecutionViewSet(StrictQueryMixin, viewsets.ReadOnlyModelViewSet):
    pagination_class = StrictPageNumberPagination
    list_filters = ("instance", "flow", "status")
    queryset = Execution.objects.none()
    lookup_value_converter = "uuid"

    def get_queryset(self):
        queryset = executions_for_user(self.request.user).select_related("flow")
        if self.action == "list":
            instance = _uuid_param(self.request, "instance")
            if instance is not None:
                queryset = queryset.filter(instance_id=instance)
            if (flow := _query_param(self.request, "flow")) is not None:
                queryset = queryset.filter(flow__name=flow)
            if (status_filter := _query_param(self.request, "status")) is not None:
                if status_filter not in ExecutionStatus.values:
                    raise FieldErrors(
                        "Invalid filter.",
                        {"status": f"One of: {', '.join(ExecutionStatus.values)}."},
                    )
                queryset = queryset.filter(status=status_filter)
        else:
            queryset = queryset.prefetch_related("steps", "logs")
        return queryset.order_by("-created_at")

    def get_serializer_class(self):
        return s.ExecutionDetailSerializer if self.action != "list" else s.ExecutionSerializer

    @extend_schema(
        responses=RESULT_RESPONSES,
        description="As a synchronous caller gets it directly: the status, content type and "
        "body the flow's result chose (JSON by default, text, or bytes). 202 `{status}` "
        "while the run is not finished; 400 `{error}` for a run that did not succeed; 409 "
        "for a stored result that cannot be read.",
    )
    @action(detail=True, methods=["get"])
    def result(self, request: Request, pk: str | None = None) -> HttpResponse:
        from executions.results import execution_final_result, execution_stopped_early
        from triggers.sync.answers import error_response, result_response

        execution = self.get_object()
        if not execution.is_finished:
            return Response({"status": execution.status}, status=status.HTTP_202_ACCEPTED)
        if execution.status != ExecutionStatus.SUCCEEDED:
            # As a synchronous caller is answered for a run that did not succeed.
            return error_response(execution.error or f"The run was {execution.status}.", 400)
        return result_response(
            execution_final_result(execution), stopped=execution_stopped_early(execution)
        )

    @extend_schema(responses=STEP_RESULT_RESPONSES)
    @action(detail=True, methods=["get"], url_path=r"steps/(?P<position>[0-9]+)/result")
    def step_result(
        self, request: Request, pk: str | None = None, position: str = "0"
    ) -> HttpResponse:
        from executions.results import step_result_load
        from triggers.sync.answers import result_response

        execution = self.get_object()
        step = get_object_or_404(StepResult, execution=execution, position=int(position))
        return result_response(step_result_load(step))

    @extend_schema(
        request=None,
        responses={200: s.ExecutionDetailSerializer},
        description="Cancel a queued execution (a waiting retry included). A running or "
        "finished execution is answered 400 and left as it is.",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        from executions.queues import execution_cancel

        execution = self.get_object()
        if not execution_cancel(execution_id=execution.pk):
            execution.refresh_from_db(fields=["status"])
            raise FieldErrors(
                f"Only a queued execution can be canceled; this one is {execution.status}.", {}
            )
        fresh = self.get_queryset().get(pk=execution.pk)
        return Response(
            s.ExecutionDetailSerializer(fresh, context=self.get_serializer_context()).data
        )

    @extend_schema(
        request=None,
        responses={201: s.ExecutionDetailSerializer, 409: CONFLICT_RESPONSE},
        description="A request refused at its signature check or component trigger is "
        "never replayed (409).",
    )
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, pk: str | None = None) -> Response:
        original = self.get_object()
        try:
            replay = execution_replay(execution=original)
        except ReplayRefused as error:
            return Response({"error": str(error)}, status=status.HTTP_409_CONFLICT)
        except InstanceStateError as error:
            raise FieldErrors(str(error), {}) from error
        return Response(
            s.ExecutionDetailSerializer(replay, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )
