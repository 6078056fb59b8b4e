"""GET /api/deliveries, /api/deliveries/<id> and /api/deliveries/stats (API key, scope ``read``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from deliveries import selectors
from deliveries.serializers import (
    DeliveryDetailSerializer,
    DeliveryListParamsSerializer,
    DeliveryStatsParamsSerializer,
)
from notifications.serializers import DeliverySerializer


class DeliveryCursorPagination(CursorPagination):
    """Newest first; stable under inserts, unlike page numbers."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200

    def decode_cursor(self, request: Request) -> Any:
        try:
            return super().decode_cursor(request)
        except NotFound as error:
            raise ValidationError({"cursor": ["Invalid cursor: use the next or previous link."]}) from error


class DeliveryPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = DeliverySerializer(many=True)


class DeliveryListView(APIView):
    @extend_schema(
        operation_id="deliveries_list",
        parameters=[DeliveryListParamsSerializer],
        responses={200: DeliveryPageSerializer},
    )
    def get(self, request: Request) -> Response:
        params = DeliveryListParamsSerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        paginator = DeliveryCursorPagination()
        page = paginator.paginate_queryset(selectors.list_deliveries(params.filters()), request, view=self)
        return paginator.get_paginated_response(DeliverySerializer(page, many=True).data)


class DeliveryDetailView(APIView):
    @extend_schema(responses={200: DeliveryDetailSerializer})
    def get(self, request: Request, delivery_id: int) -> Response:
        delivery = selectors.get_delivery(delivery_id)
        if delivery is None:
            raise NotFound("No delivery with this id.")
        return Response(DeliveryDetailSerializer(delivery).data)


class DeliveryStatsView(APIView):
    """Totals by channel and status; ``?interval=hour|day`` adds time buckets."""

    @extend_schema(parameters=[DeliveryStatsParamsSerializer], responses={200: dict})
    def get(self, request: Request) -> Response:
        params = DeliveryStatsParamsSerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        stats = selectors.delivery_stats(params.filters(), params.validated_data.get("interval"))
        field = serializers.DateTimeField()
        for bucket in stats.get("buckets", []):
            bucket["start"] = field.to_representation(bucket["start"])
        return Response(stats)
