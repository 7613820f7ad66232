"""Instances: create, read, change, remove; deploy, pause, enable; cancel queued runs;
add and revoke a flow's API keys; read and patch persisted state (``api.views.state``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from api import serializers as s
from api.exceptions import FieldErrors
from api.parsers import JSONParser
from api.views.common import (
    StrictPageNumberPagination,
    StrictQueryMixin,
    config_value_errors_as_fields,
    instance_errors_as_fields,
    uuid_param,
)
from api.views.state import InstanceStateMixin
from executions.queues import executions_cancel_queued
from instances.errors import InstanceStateError
from instances.lifecycle import instance_deploy, instance_enable, instance_pause, instance_remove
from instances.models import Instance
from instances.services import api_key_add, api_key_revoke, instance_create, instance_update
from instances.tenancy import customers_for_user, instances_for_user, integration_for_new_instance
from integrations.config_values import ConfigValueError


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
    InstanceStateMixin,
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
                value = uuid_param(self.request, name)
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
            raise config_value_errors_as_fields(error) from error
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
        with instance_errors_as_fields():
            instance_update(
                instance=instance,
                name=data.get("name"),
                config_values=data.get("configVariables"),
            )
        return self._detail_response(instance)

    def perform_destroy(self, instance: Instance) -> None:
        instance_remove(instance=instance, user=self.request.user)

    def _lifecycle(self, operation: Callable[..., object], request: Request) -> Response:
        instance = self.get_object()
        with instance_errors_as_fields():
            operation(instance=instance, user=request.user)
        return self._detail_response(instance)

    def _detail_response(self, instance: Instance) -> Response:
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
