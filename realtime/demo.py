"""Demo mode (``DEBUG`` or ``RELAY_DEMO=1``) endpoints behind the live inbox page at ``/``.

The page must never hold an API key, so in demo mode it gets a subscriber token for a demo
user here and submits sample events with that token. Outside demo mode every endpoint of
this module answers 404, as if it did not exist.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from django.conf import settings
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.channel_names import channel_names
from deliveries.models import Delivery, DeliveryStatus
from notifications import services as notification_services
from notifications.errors import ServiceUnavailable
from notifications.models import PRIORITY_CHOICES, Subscriber
from notifications.serializers import EVENT_ID_RE, AcceptedSerializer, ChannelField, EventSerializer
from notifications.subscriber_auth import SubscriberAuth, SubscriberTokenAuthentication
from notifications.subscriber_tokens import mint_subscriber_token

DEMO_USER_RE = re.compile(r"^demo-[a-z0-9-]{1,40}$")
DEMO_EVENT_TYPES = ["comment.created", "order.shipped", "account.security"]


class DemoOnlyMixin:
    """404 before anything else (authentication included) unless demo mode is on."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if not settings.RELAY_DEMO:
            raise Http404
        super().initial(request, *args, **kwargs)  # type: ignore[misc]


class HasSubscriberToken(BasePermission):
    """Only a subscriber token will do: a demo event is always for the caller themself."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, SubscriberAuth)


class DemoSessionSerializer(serializers.Serializer):
    userId = serializers.RegexField(DEMO_USER_RE, required=False, default="demo-user")


class DemoSessionAnswerSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="A subscriber token for userId.")
    userId = serializers.CharField()
    expiresIn = serializers.IntegerField(help_text="Seconds.")
    eventTypes = serializers.ListField(
        child=serializers.CharField(), help_text="What POST /api/demo/event sends."
    )
    channels = serializers.ListField(child=serializers.CharField())


class DemoDeliverySerializer(serializers.Serializer):
    channel = serializers.CharField()
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    reason = serializers.CharField()


class DemoEventStatusSerializer(serializers.Serializer):
    eventId = serializers.CharField()
    deliveries = DemoDeliverySerializer(many=True)


class DemoSessionView(DemoOnlyMixin, APIView):
    """``POST /api/demo/session``: a token for a demo subscriber (created on first use)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(request=DemoSessionSerializer, responses={201: DemoSessionAnswerSerializer})
    def post(self, request: Request) -> Response:
        body = DemoSessionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        subscriber, _ = Subscriber.objects.get_or_create(user_id=body.validated_data["userId"])
        return Response(
            {
                "token": mint_subscriber_token(subscriber),
                "userId": subscriber.user_id,
                "expiresIn": settings.RELAY_SUBSCRIBER_TOKEN_MAX_AGE,
                "eventTypes": DEMO_EVENT_TYPES,
                "channels": channel_names(),
            },
            status=status.HTTP_201_CREATED,
        )


class DemoEventSerializer(serializers.Serializer):
    eventType = serializers.ChoiceField(choices=DEMO_EVENT_TYPES, default=DEMO_EVENT_TYPES[0])
    title = serializers.CharField(max_length=200, default="Hello from Relay")
    body = serializers.CharField(max_length=1000, allow_blank=True, default="")
    actionUrl = serializers.URLField(max_length=500, required=False, allow_blank=True)
    channels = serializers.ListField(child=ChannelField(), allow_empty=False, default=lambda: ["in_app"])
    priority = serializers.ChoiceField(choices=PRIORITY_CHOICES, default="normal")


class DemoEventView(DemoOnlyMixin, APIView):
    """``POST /api/demo/event`` (subscriber token): a sample event for that subscriber only."""

    authentication_classes = [SubscriberTokenAuthentication]

    permission_classes = [HasSubscriberToken]

    @extend_schema(request=DemoEventSerializer, responses={202: AcceptedSerializer})
    def post(self, request: Request) -> Response:
        body = DemoEventSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        sample = body.validated_data
        event = EventSerializer(
            data={
                "eventId": f"demo_{secrets.token_hex(8)}",
                "eventType": sample["eventType"],
                "userId": request.auth.subscriber.user_id,
                "channels": sorted(set(sample["channels"])),
                "priority": sample["priority"],
                "data": {
                    "title": sample["title"],
                    "body": sample["body"],
                    "actionUrl": sample.get("actionUrl", ""),
                },
            }
        )
        event.is_valid(raise_exception=True)
        (result,) = notification_services.accept_events([event.validated_data])
        if result.outcome == "unavailable":
            raise ServiceUnavailable(retry_after=settings.RELAY_RETRY_AFTER_SECONDS)
        return Response({"eventId": result.event_id, "status": "accepted"}, status=status.HTTP_202_ACCEPTED)


class DemoEventStatusView(DemoOnlyMixin, APIView):
    """``GET /api/demo/events/<eventId>``: the caller's own deliveries of it, with the reason for each."""

    authentication_classes = [SubscriberTokenAuthentication]

    permission_classes = [HasSubscriberToken]

    @extend_schema(responses={200: DemoEventStatusSerializer})
    def get(self, request: Request, event_id: str) -> Response:
        if not EVENT_ID_RE.match(event_id):
            raise Http404
        deliveries = Delivery.objects.filter(
            notification__event__event_id=event_id, notification__subscriber=request.auth.subscriber
        ).order_by("channel")
        return Response(
            {
                "eventId": event_id,
                "deliveries": [
                    {"channel": d.channel, "status": d.status, "reason": d.reason} for d in deliveries
                ],
            }
        )
