"""Executions: list and read them, their final and step results, cancel a queued one,
replay one."""

from __future__ import annotations

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
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from api import serializers as s
from api.exceptions import FieldErrors
from api.views.common import (
    CONFLICT_RESPONSE,
    StrictPageNumberPagination,
    StrictQueryMixin,
    query_param,
    uuid_param,
)
from executions.models import Execution, ExecutionStatus, StepResult
from executions.queues import execution_cancel
from executions.results import execution_final_result, execution_stopped_early, step_result_load
from executions.services import ReplayRefused, execution_replay
from instances.errors import InstanceStateError
from instances.tenancy import scoped_to_user
from triggers.sync.answers import error_response, result_response

# What a result URL serves is the flow's choice (executions.rendering.result_render): JSON by
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
        queryset = scoped_to_user(Execution.objects.all(), self.request.user).select_related("flow")
        if self.action == "list":
            instance = uuid_param(self.request, "instance")
            if instance is not None:
                queryset = queryset.filter(instance_id=instance)
            if (flow := query_param(self.request, "flow")) is not None:
                queryset = queryset.filter(flow__name=flow)
            if (status_filter := query_param(self.request, "status")) is not None:
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
