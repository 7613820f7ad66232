"""Bulk replay (SPEC §10): ``POST /api/v1/executions/replay`` previews or starts a replay
job over the executions a filter matches; ``GET /api/v1/replay-jobs/{id}`` shows its
progress, ``POST .../cancel`` stops it between replays (executions.replay).

Tenancy: the executions are scoped to the asker first (a customer user's own customer's
only), so the filter narrows and never widens. A filter naming an instance, customer or
integration the asker cannot see answers as one that does not exist (400 naming the
field); another tenant's job is 404.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.exceptions import FieldErrors
from api.parsers import JSONParser
from executions.models import Execution, ReplayDefinition, ReplayJob
from executions.replay import (
    REPLAYABLE_STATUSES,
    ReplaySelection,
    ReplayTooMany,
    executions_matching,
    replay_job_cancel,
    replay_job_create,
    replay_preview,
)
from instances.models import Customer, Instance
from instances.tenancy import (
    customers_for_user,
    instances_for_user,
    integrations_for_user,
    is_staff,
    object_or_404,
    scoped_to_user,
    user_customer,
)
from integrations.models import Integration

FILTER_KEYS = {
    "integration",
    "instance",
    "customer",
    "flow",
    "status",
    "since",
    "until",
    "errorContains",
}
REQUEST_KEYS = {"filter", "dryRun", "definition"}


class ReplayFilterSerializer(serializers.Serializer):
    integration = serializers.UUIDField(required=False, allow_null=True)
    instance = serializers.UUIDField(required=False, allow_null=True)
    customer = serializers.UUIDField(required=False, allow_null=True)
    flow = serializers.CharField(max_length=200, required=False, allow_null=True)
    status = serializers.ChoiceField(choices=list(REPLAYABLE_STATUSES), default="failed")
    since = serializers.DateTimeField(required=False, allow_null=True)
    until = serializers.DateTimeField(required=False, allow_null=True)
    errorContains = serializers.CharField(
        max_length=1000, required=False, allow_null=True, allow_blank=True
    )


class ReplayRequestSerializer(serializers.Serializer):
    filter = ReplayFilterSerializer(required=False)
    dryRun = serializers.BooleanField(default=False)
    definition = serializers.ChoiceField(
        choices=ReplayDefinition.values, default=ReplayDefinition.CURRENT
    )


class ReplayJobSerializer(serializers.ModelSerializer):
    createdAt = serializers.DateTimeField(source="created_at")
    endedAt = serializers.DateTimeField(source="ended_at", allow_null=True)

    class Meta:
        model = ReplayJob
        fields = [
            "id",
            "status",
            "total",
            "created",
            "skipped",
            "filter",
            "definition",
            "createdAt",
            "endedAt",
        ]


PREVIEW = inline_serializer(
    "ReplayPreview",
    {
        "count": serializers.IntegerField(),
        "sample": serializers.ListField(child=serializers.UUIDField()),
    },
)
STARTED = inline_serializer(
    "ReplayStarted",
    {
        "id": serializers.UUIDField(),
        "status": serializers.CharField(),
        "total": serializers.IntegerField(),
    },
)


class BulkReplayView(APIView):
    # JSON only: a form would carry the filter as text and dryRun as "0".
    parser_classes = [JSONParser]

    @extend_schema(
        request=ReplayRequestSerializer,
        responses={200: PREVIEW, 202: STARTED, 400: OpenApiResponse(description="Bad input")},
        summary="Replay the executions a filter matches",
        description="With `dryRun`: the count and up to 20 ids. Else a replay job is queued: "
        "each match is replayed once (`replayOf`), no faster than "
        "TRIGGERFISH_REPLAY_PER_SECOND.",
    )
    def post(self, request: Request) -> Response:
        body = request.data
        if not isinstance(body, dict):
            raise FieldErrors("The body must be a JSON object.", {})
        unknown = sorted(set(body) - REQUEST_KEYS) + [
            f"filter.{key}"
            for key in sorted(set(body.get("filter") or {}) - FILTER_KEYS)
            if isinstance(body.get("filter"), dict)
        ]
        if unknown:
            raise FieldErrors("Unknown keys.", {key: "Unknown key." for key in unknown})
        if "dryRun" in body and not isinstance(body["dryRun"], bool):
            raise FieldErrors("Invalid input.", {"dryRun": "Must be true or false."})
        parsed = ReplayRequestSerializer(data=body)
        if not parsed.is_valid():
            raise serializers.ValidationError(parsed.errors)
        data: dict[str, Any] = parsed.validated_data
        selection = _selection(request, data.get("filter") or {})
        executions = executions_matching(
            selection, executions=scoped_to_user(Execution.objects.all(), request.user)
        )
        if data["dryRun"]:
            preview = replay_preview(executions)
            return Response({"count": preview.count, "sample": [str(i) for i in preview.sample]})
        customer = user_customer(request.user) if not is_staff(request.user) else None
        try:
            job = replay_job_create(
                executions=executions,
                filter_shown=selection.as_filter(),
                definition=data["definition"],
                customer=customer or selection.only_customer(),
                user=request.user,
            )
        except ReplayTooMany as error:
            raise FieldErrors(str(error), {"filter": "Matches too many executions."}) from error
        return Response(
            {"id": str(job.pk), "status": job.status, "total": job.total},
            status=status.HTTP_202_ACCEPTED,
        )


def _selection(request: Request, given: dict[str, Any]) -> ReplaySelection:
    user = request.user
    errors: dict[str, str] = {}

    def visible(name: str, queryset: Any) -> Any:
        if given.get(name) is None:
            return None
        found = queryset.filter(pk=given[name]).first()
        if found is None:
            errors[f"filter.{name}"] = f"No such {name}."
        return found

    integration: Integration | None = visible("integration", integrations_for_user(user))
    instance: Instance | None = visible("instance", instances_for_user(user))
    customer: Customer | None = visible("customer", customers_for_user(user))
    since, until = given.get("since"), given.get("until")
    if since and until and since >= until:
        errors["filter.until"] = "Must be after since."
    if errors:
        raise FieldErrors("Invalid filter.", errors)
    return ReplaySelection(
        integration=integration,
        instance=instance,
        customer=customer,
        flow=given.get("flow"),
        status=given.get("status", "failed"),
        since=since,
        until=until,
        error_contains=given.get("errorContains") or None,
    )


class ReplayJobView(APIView):
    @extend_schema(responses={200: ReplayJobSerializer}, summary="A replay job's progress")
    def get(self, request: Request, pk: str) -> Response:
        job = object_or_404(scoped_to_user(ReplayJob.objects.all(), request.user), pk)
        return Response(ReplayJobSerializer(job).data)


class ReplayJobCancelView(APIView):
    @extend_schema(
        request=None,
        responses={200: ReplayJobSerializer},
        summary="Stop a replay job before its next replay",
    )
    def post(self, request: Request, pk: str) -> Response:
        job = object_or_404(scoped_to_user(ReplayJob.objects.all(), request.user), pk)
        replay_job_cancel(job_id=job.pk)
        job.refresh_from_db()
        return Response(ReplayJobSerializer(job).data)
