"""GET /api/events (the activity feed), /api/events/<eventId>, /api/deliveries,
/api/deliveries/<id> and /api/deliveries/stats (API key, scope ``read``)."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from deliveries import selectors
from deliveries.models import Delivery
from deliveries.serializers import (
    DeliveryDetailSerializer,
    DeliveryListParamsSerializer,
    DeliverySerializer,
    DeliveryStatsParamsSerializer,
    DeliveryStatsSerializer,
    EventActivitySerializer,
    EventDetailSerializer,
    EventListParamsSerializer,
)
from deliveries.signals import event_detail
from notifications import services
from notifications.models import Event, Notification
from notifications.views import EventCreateView


class EventDetailView(APIView):
    """The event, its notifications and every delivery with status and reason."""

    @extend_schema(responses={200: EventDetailSerializer})
    def get(self, request: Request, event_id: str) -> Response:
        deliveries = Prefetch(
            "deliveries", queryset=Delivery.objects.order_by("channel").prefetch_related("timeline")
        )
        notifications = Prefetch(
            "notifications",
            queryset=Notification.objects.select_related("subscriber", "event")
            .prefetch_related(deliveries)
            .order_by("id"),
        )
        event = Event.objects.prefetch_related(notifications).filter(event_id=event_id).first()
        if event is None:
            if services.accepted_but_pending(event_id):
                return Response({"eventId": event_id, "status": "accepted", "notifications": []})
            return Response({"detail": "No event with this eventId."}, status=404)
        data = dict(EventDetailSerializer(event).data)
        for _, section in event_detail.send(sender=Event, event=event):
            data.update(section)
        return Response(data)


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


class EventPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = EventActivitySerializer(many=True)


class EventCollectionView(EventCreateView):
    """Accept one event (POST: 202 once JetStream has stored it), or list events (GET).

    POST is notifications' view; GET, the activity feed, is served here because its delivery
    summaries are this app's.
    """

    @extend_schema(
        operation_id="events_list",
        description=(
            "The activity feed: events newest first, each with a summary of its deliveries. "
            "The filters and cursors of GET /api/deliveries; `status` and `channel` keep the events "
            "having a delivery in that status and/or on that channel."
        ),
        parameters=[EventListParamsSerializer],
        responses={200: EventPageSerializer},
    )
    def get(self, request: Request) -> Response:
        params = EventListParamsSerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        paginator = DeliveryCursorPagination()
        page = paginator.paginate_queryset(selectors.list_events(params.filters()), request, view=self)
        summaries = selectors.delivery_summaries([event.pk for event in page])
        body = EventActivitySerializer(page, many=True, context={"summaries": summaries}).data
        return paginator.get_paginated_response(body)


class DeliveryDetailView(APIView):
    @extend_schema(responses={200: DeliveryDetailSerializer})
    def get(self, request: Request, delivery_id: int) -> Response:
        delivery = selectors.get_delivery(delivery_id)
        if delivery is None:
            raise NotFound("No delivery with this id.")
        return Response(DeliveryDetailSerializer(delivery).data)


class DeliveryStatsView(APIView):
    """Totals by channel and status; ``?interval=hour|day`` adds time buckets."""

    @extend_schema(parameters=[DeliveryStatsParamsSerializer], responses={200: DeliveryStatsSerializer})
    def get(self, request: Request) -> Response:
        params = DeliveryStatsParamsSerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        stats = selectors.delivery_stats(params.filters(), params.validated_data.get("interval"))
        field = serializers.DateTimeField()
        for bucket in stats.get("buckets", []):
            bucket["start"] = field.to_representation(bucket["start"])
        return Response(stats)
