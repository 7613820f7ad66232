"""Customers: list and read those a user may see; create one and its users (staff)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from api import serializers as s
from api.exceptions import FieldErrors
from api.parsers import JSONParser
from api.views.common import StrictPageNumberPagination, StrictQueryMixin, require_staff
from instances.models import Customer, CustomerUser
from instances.services import customer_create
from instances.tenancy import customers_for_user


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
        require_staff(request)
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
        require_staff(request)
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
