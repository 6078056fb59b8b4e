"""HTTP endpoints for events and subscribers: validate, call one service, shape the answer."""

from __future__ import annotations

import threading
from typing import Any

import orjson
from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications import services
from notifications.errors import ServiceUnavailable
from notifications.models import Subscriber
from notifications.serializers import (
    AcceptedSerializer,
    EventBatchSerializer,
    EventSerializer,
    SubscriberSerializer,
)
from notifications.subscriber_tokens import mint_subscriber_token

_local = threading.local()


def _conflict_detail(result: services.Acceptance) -> dict[str, Any]:
    return {
        "eventId": result.event_id,
        "detail": "eventId was already used with a different body.",
        "existingFingerprint": result.existing_fingerprint,
        "requestFingerprint": result.fingerprint,
    }


def _event_checker() -> EventSerializer:
    """This thread's EventSerializer, reused: building one (DRF deep-copies every declared field)
    cost a twentieth of a single POST (py-spy, docs/BENCHMARKS.md). Validation keeps no state on
    the instance; one per thread all the same, as the API serves requests from a thread pool.
    """
    checker = getattr(_local, "checker", None)
    if checker is None:
        checker = _local.checker = EventSerializer()
    return checker


class EventCreateView(APIView):
    """Accept one event: 202 once JetStream has stored it."""

    required_scopes = {"POST": "events:write"}

    @extend_schema(request=EventSerializer, responses={202: AcceptedSerializer, 200: AcceptedSerializer})
    def post(self, request: Request) -> Response:
        # run_validation raises the same field errors as is_valid(raise_exception=True).
        (result,) = services.accept_events([_event_checker().run_validation(request.data)])
        if result.outcome == "unavailable":
            raise ServiceUnavailable(retry_after=settings.RELAY_RETRY_AFTER_SECONDS)
        if result.outcome == "conflict":
            return Response(_conflict_detail(result), status=status.HTTP_409_CONFLICT)
        body: dict[str, Any] = {"eventId": result.event_id, "status": "accepted"}
        if result.outcome == "duplicate":
            body["duplicate"] = True
            return Response(body, status=status.HTTP_200_OK)
        return Response(body, status=status.HTTP_202_ACCEPTED)


class BatchItemSerializer(serializers.Serializer):
    """One event's outcome, in the order sent; ``code`` is what POST /api/events would answer."""

    index = serializers.IntegerField()
    eventId = serializers.JSONField(
        required=False, help_text="The eventId as sent: a rejected item's may be missing or not a string."
    )
    code = serializers.ChoiceField(choices=[200, 202, 400, 409, 413, 503])
    status = serializers.ChoiceField(choices=["accepted", "rejected", "conflict", "unavailable"])
    duplicate = serializers.BooleanField(required=False)
    errors = serializers.DictField(
        required=False, help_text="Messages by field name, as in a 400 answer (code 400 or 413)."
    )
    detail = serializers.CharField(required=False)
    existingFingerprint = serializers.CharField(required=False, help_text="Code 409.")
    requestFingerprint = serializers.CharField(required=False, help_text="Code 409.")
    retryAfter = serializers.IntegerField(required=False, help_text="Seconds (code 503).")


class BatchResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = BatchItemSerializer(many=True)


class EventBatchView(APIView):
    """Accept up to 500 events at once; each item reports its own outcome and HTTP code."""

    required_scopes = {"POST": "events:write"}
    max_body_bytes = settings.RELAY_MAX_EVENT_BYTES * settings.RELAY_MAX_BATCH_EVENTS

    @extend_schema(request=EventBatchSerializer, responses={200: BatchResultSerializer})
    def post(self, request: Request) -> Response:
        envelope = EventBatchSerializer(data=request.data)
        envelope.is_valid(raise_exception=True)
        items: list[dict[str, Any] | None] = [None] * len(envelope.validated_data["events"])
        valid: list[tuple[int, dict[str, Any]]] = []
        # One serializer for every item, as ListSerializer does: building a serializer's fields
        # costs more than validating an event (measured by make bench, docs/BENCHMARKS.md).
        checker = EventSerializer()
        for index, raw in enumerate(envelope.validated_data["events"]):
            if len(orjson.dumps(raw)) > settings.RELAY_MAX_EVENT_BYTES:
                items[index] = {
                    "index": index,
                    "code": 413,
                    "status": "rejected",
                    "errors": {"event": ["Event exceeds 64 KiB."]},
                }
                continue
            try:
                valid.append((index, checker.run_validation(raw)))
            except ValidationError as error:
                items[index] = {
                    "index": index,
                    "eventId": raw.get("eventId"),
                    "code": 400,
                    "status": "rejected",
                    "errors": serializers.as_serializer_error(error),
                }
        outcomes = services.accept_events([data for _, data in valid])
        for (index, _), result in zip(valid, outcomes, strict=True):
            items[index] = self._item(index, result)
        accepted = sum(1 for item in items if item and item["code"] in (200, 202))
        return Response(
            {"accepted": accepted, "rejected": len(items) - accepted, "results": items},
            status=status.HTTP_200_OK,
        )

    @staticmethod
    def _item(index: int, result: services.Acceptance) -> dict[str, Any]:
        item: dict[str, Any] = {"index": index, "eventId": result.event_id}
        if result.outcome == "accepted":
            item.update(code=202, status="accepted")
        elif result.outcome == "duplicate":
            item.update(code=200, status="accepted", duplicate=True)
        elif result.outcome == "conflict":
            item.update(code=409, status="conflict", **_conflict_detail(result))
        else:
            item.update(code=503, status="unavailable", retryAfter=settings.RELAY_RETRY_AFTER_SECONDS)
        return item


class SubscriberView(APIView):
    """Identify a subscriber (PUT creates or updates), read it, or delete it and its data."""

    required_scopes = {"PUT": "subscribers:write", "DELETE": "subscribers:write"}

    @extend_schema(
        request=SubscriberSerializer, responses={200: SubscriberSerializer, 201: SubscriberSerializer}
    )
    def put(self, request: Request, user_id: str) -> Response:
        if len(user_id) > 128:
            raise ValidationError({"userId": ["At most 128 characters."]})
        serializer = SubscriberSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        subscriber, created = services.upsert_subscriber(user_id, dict(serializer.validated_data))
        return Response(
            SubscriberSerializer(subscriber).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(responses={200: SubscriberSerializer})
    def get(self, request: Request, user_id: str) -> Response:
        subscriber = get_object_or_404(Subscriber, user_id=user_id)
        return Response(SubscriberSerializer(subscriber).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, user_id: str) -> Response:
        subscriber = get_object_or_404(Subscriber, user_id=user_id)
        subscriber.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    userId = serializers.CharField()
    expiresIn = serializers.IntegerField()


class SubscriberTokenView(APIView):
    """Mint a signed, expiring token for the end user's inbox, feed and preferences."""

    required_scopes = {"POST": "subscribers:write"}

    @extend_schema(request=None, responses={201: TokenSerializer})
    def post(self, request: Request, user_id: str) -> Response:
        subscriber = get_object_or_404(Subscriber, user_id=user_id)
        return Response(
            {
                "token": mint_subscriber_token(subscriber),
                "userId": subscriber.user_id,
                "expiresIn": settings.RELAY_SUBSCRIBER_TOKEN_MAX_AGE,
            },
            status=status.HTTP_201_CREATED,
        )
