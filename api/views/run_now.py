"""Run now: ``POST /api/v1/instances/{id}/flows/{flow name}/run`` fires a schedule or
polling flow at once, as beat would (triggers.schedules.run_now).

Who may: whoever may deploy the instance — staff, and the users of the instance's own
customer; another tenant's instance is 404 (instances.tenancy), as on every instance route.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api import serializers as s
from api.views.common import CONFLICT_RESPONSE
from executions.models import Execution
from instances.tenancy import instances_for_user, scoped_to_user
from triggers.schedules.run_now import (
    RunNowConflict,
    RunNowNotFound,
    RunNowRefused,
    flow_run_now,
)

POLL_OUTCOME = inline_serializer(
    "PollOutcome",
    {
        "status": serializers.ChoiceField(choices=["succeeded", "failed"]),
        "itemCount": serializers.IntegerField(help_text="Items the source answered."),
        "executions": serializers.ListField(
            child=serializers.UUIDField(),
            help_text="The executions the new items started; a failed poll's failed one.",
        ),
        "error": serializers.CharField(required=False, help_text="Why the poll failed."),
    },
)

RUN_NOW_CONFLICT = OpenApiResponse(
    inline_serializer(
        "RunNowConflict",
        {
            "error": serializers.CharField(),
            "executionId": serializers.UUIDField(
                required=False, help_text="The canceled run that records a singleton's skip."
            ),
        },
    ),
    description=CONFLICT_RESPONSE.description
    + " The instance is not deployed or is paused, the flow's schedule is off, a singleton "
    "flow's previous run is still going, or a poll of the flow is going or backing off.",
)


class FlowRunNowView(APIView):
    @extend_schema(
        operation_id="v1_instances_flows_run_create",
        summary="Run a schedule or polling flow now, as beat would",
        description="A schedule flow: 201 with the new execution (trigger `schedule`, "
        "`scheduledTime` now). A polling flow: one poll now, 200 with its outcome (a failed "
        "poll lists its failed execution). A webhook, deploy or remove flow: 400.",
        request=None,
        responses={
            201: s.ExecutionDetailSerializer,
            200: OpenApiResponse(POLL_OUTCOME, description="The poll's outcome."),
            409: RUN_NOW_CONFLICT,
        },
    )
    def post(self, request: Request, pk: str, flow_name: str) -> Response:
        instance = (
            instances_for_user(request.user)
            .select_related("integration", "customer")
            .filter(pk=pk)
            .first()
        )
        if instance is None:
            raise NotFound()
        try:
            result = flow_run_now(instance=instance, flow_name=flow_name, user=request.user)
        except RunNowNotFound as error:
            return Response({"error": str(error)}, status=status.HTTP_404_NOT_FOUND)
        except RunNowRefused as error:
            return Response({"error": str(error)}, status=status.HTTP_400_BAD_REQUEST)
        except RunNowConflict as error:
            body = {"error": str(error)}
            if error.execution is not None:
                body["executionId"] = str(error.execution.pk)
            return Response(body, status=status.HTTP_409_CONFLICT)
        if result.poll is not None:
            answer = {
                "status": result.poll.status,
                "itemCount": result.poll.item_count,
                "executions": [str(pk) for pk in result.poll.executions],
            }
            if result.poll.error:
                answer["error"] = result.poll.error
            return Response(answer)
        assert result.execution is not None  # a schedule flow's fire has its execution
        execution = (
            scoped_to_user(Execution.objects.all(), request.user)
            .select_related("flow")
            .prefetch_related("steps", "logs")
            .get(pk=result.execution.pk)
        )
        return Response(
            s.ExecutionDetailSerializer(execution, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )
