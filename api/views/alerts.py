"""Alert monitors (list, create, read, replace, change, delete; rotate a webhook channel's
secret) and the alert events they raised (SPEC §9). Staff only: for anyone else every
URL here answers 404, as for what does not exist."""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from alerts.events import EVENT_TYPES, RECOVERED_SUFFIX
from alerts.models import AlertEvent, AlertMonitor
from alerts.monitors import ChannelSpec, MonitorInvalid, MonitorSpec, channel_secret_rotate
from alerts.monitors import monitor_save as monitor_save_service
from api import alert_serializers as s
from api.exceptions import FieldErrors
from api.parsers import JSONParser
from api.views.common import StrictPageNumberPagination, StrictQueryMixin, query_param, uuid_param
from instances.models import Customer, Instance
from instances.tenancy import is_staff
from integrations.models import Integration

EVENT_TYPE_NAMES = [
    *EVENT_TYPES,
    *(name + RECOVERED_SUFFIX for name, event in EVENT_TYPES.items() if event.recovers_on_success),
]


class StaffOnlyMixin(StrictQueryMixin):
    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # SPEC §9: customer users get 404 on monitors and events, lists included.
        if not is_staff(request.user):
            raise NotFound()


def _scope_row(model: Any, value: uuid.UUID | None, name: str, errors: dict[str, str]) -> Any:
    if value is None:
        return None
    queryset = model.objects.live() if model is Instance else model.objects.all()
    row = queryset.filter(pk=value).first()
    if row is None:
        errors[name] = f"No such {name}."
    return row


def _spec_from(data: dict[str, Any], base: MonitorSpec | None) -> MonitorSpec:
    """The monitor ``data`` asks for: every key given replaces ``base``'s (PATCH), or the
    defaults' (create and PUT, ``base`` None)."""
    spec = base or MonitorSpec(name=data["name"], event=data["event"])
    errors: dict[str, str] = {}
    for key, model in (
        ("integration", Integration),
        ("customer", Customer),
        ("instance", Instance),
    ):
        if key in data:
            setattr(spec, key, _scope_row(model, data[key], key, errors))
    if errors:
        raise FieldErrors("Invalid alert monitor.", errors)
    for key, attribute in (
        ("name", "name"),
        ("event", "event"),
        ("threshold", "threshold"),
        ("cooldownSeconds", "cooldown_seconds"),
        ("enabled", "enabled"),
    ):
        if key in data:
            setattr(spec, attribute, data[key])
    if "flow" in data:
        spec.flow_name = data["flow"] or ""
    if "channels" in data:
        spec.channels = [
            ChannelSpec(channel["type"], channel.get("url", ""), tuple(channel.get("to", ())))
            for channel in data["channels"]
        ]
    return spec


@extend_schema_view(
    list=extend_schema(summary="List alert monitors (staff)"),
    retrieve=extend_schema(summary="An alert monitor, with its webhook channels' secrets"),
    destroy=extend_schema(summary="Delete an alert monitor and its events"),
)
class AlertMonitorViewSet(
    StaffOnlyMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.MonitorSerializer
    parser_classes = [JSONParser]
    pagination_class = StrictPageNumberPagination
    queryset = AlertMonitor.objects.none()
    lookup_value_converter = "uuid"

    def get_queryset(self):
        return AlertMonitor.objects.prefetch_related("channels").order_by("name", "created_at")

    def _save(self, request: Request, monitor: AlertMonitor | None, *, partial: bool) -> Response:
        serializer = s.MonitorInputSerializer(data=request.data, partial=partial)
        if not serializer.is_valid():
            raise FieldErrors("Invalid alert monitor.", s.input_errors(serializer.errors))
        base = MonitorSpec.of(monitor) if monitor is not None and partial else None
        spec = _spec_from(serializer.validated_data, base)
        try:
            saved = monitor_save_service(spec=spec, monitor=monitor)
        except MonitorInvalid as error:
            raise FieldErrors("Invalid alert monitor.", error.fields) from error
        fresh = self.get_queryset().get(pk=saved.pk)
        return Response(
            s.MonitorSerializer(fresh).data,
            status=status.HTTP_201_CREATED if monitor is None else status.HTTP_200_OK,
        )

    @extend_schema(
        request=s.MonitorInputSerializer,
        responses={201: s.MonitorSerializer},
        summary="Create an alert monitor (its webhook channels get secrets)",
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._save(request, None, partial=False)

    @extend_schema(
        request=s.MonitorInputSerializer,
        responses={200: s.MonitorSerializer},
        summary="Replace an alert monitor",
        description="Keys left out take their defaults (no scope, no channels, threshold "
        "{}, cooldownSeconds 300, enabled). A channel matching one the monitor has (a "
        "webhook by its url, an email channel by its addresses) keeps its secret.",
    )
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._save(request, self.get_object(), partial=False)

    @extend_schema(
        request=s.MonitorInputSerializer,
        responses={200: s.MonitorSerializer},
        summary="Change an alert monitor",
        description="Only the keys given change; `channels`, when given, replaces the list "
        "(a channel matching one the monitor has keeps its secret).",
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._save(request, self.get_object(), partial=True)

    @extend_schema(
        request=None,
        responses={200: s.RotatedSecretSerializer},
        summary="Give a webhook channel a new secret",
        description="`position` counts the monitor's channels from 0. The old secret "
        "stops at once: retries of pending deliveries are signed with the new one.",
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"channels/(?P<position>[0-9]{1,4})/rotate-secret",
    )
    def rotate_secret(
        self, request: Request, pk: str | None = None, position: str = "0"
    ) -> Response:
        monitor = self.get_object()
        try:
            channel = channel_secret_rotate(monitor=monitor, position=int(position))
        except MonitorInvalid as error:
            raise FieldErrors(str(error.fields["position"]), error.fields) from error
        if channel is None:
            raise NotFound()
        return Response({"secret": channel.secret})


@extend_schema_view(
    list=extend_schema(
        summary="List alert events, newest first (staff)",
        parameters=[
            OpenApiParameter("monitor", OpenApiTypes.UUID, description="Monitor id"),
            OpenApiParameter("instance", OpenApiTypes.UUID, description="Instance id"),
            OpenApiParameter("type", str, enum=EVENT_TYPE_NAMES, description="Event type"),
        ],
    ),
    retrieve=extend_schema(summary="An alert event, with its deliveries' attempts"),
)
class AlertEventViewSet(StaffOnlyMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = s.AlertEventSerializer
    pagination_class = StrictPageNumberPagination
    list_filters = ("monitor", "instance", "type")
    queryset = AlertEvent.objects.none()
    lookup_value_converter = "uuid"

    def get_queryset(self):
        queryset = AlertEvent.objects.select_related("monitor").prefetch_related("deliveries")
        if self.action == "list":
            for name in ("monitor", "instance"):
                value = uuid_param(self.request, name)
                if value is not None:
                    queryset = queryset.filter(**{f"{name}_id": value})
            if (event_type := query_param(self.request, "type")) is not None:
                if event_type not in EVENT_TYPE_NAMES:
                    raise FieldErrors(
                        "Invalid filter.", {"type": f"One of: {', '.join(EVENT_TYPE_NAMES)}."}
                    )
                queryset = queryset.filter(type=event_type)
        return queryset.order_by("-occurred_at", "-created_at")
