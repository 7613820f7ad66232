"""Integrations: list and read the versions a user may see; import a definition (staff)."""

from __future__ import annotations

from typing import cast

from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response

from api import serializers as s
from api.exceptions import FieldErrors
from api.views.common import StrictPageNumberPagination, StrictQueryMixin, require_staff
from api.views.state import IntegrationStateMixin
from instances.tenancy import integrations_for_user
from integrations.definitions import DefinitionError, integration_import_if_changed
from integrations.models import Integration


class RawDefinitionParser(BaseParser):
    """Definitions arrive as YAML or JSON text; the importer parses and validates them."""

    media_type = "*/*"

    # The raw bytes, not the mapping DRF's parsers return: the importer reads YAML and
    # JSON alike, and reports its own parse errors.
    def parse(self, stream, media_type=None, parser_context=None) -> bytes:  # type: ignore[override]
        return stream.read()


class IntegrationViewSet(StrictQueryMixin, IntegrationStateMixin, viewsets.ReadOnlyModelViewSet):
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
        require_staff(request)
        try:
            outcome = integration_import_if_changed(
                # RawDefinitionParser, the only parser of this action, gives the bytes.
                definition=cast(bytes, request.data),
                content_type=request.content_type,
            )
        except DefinitionError as error:
            raise FieldErrors("Invalid integration definition.", dict(error.errors)) from error
        summary = s.IntegrationSummarySerializer(outcome.integration).data
        return Response(
            {**summary, "created": outcome.created},
            status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK,
        )
