"""The inbox API: what the WebSocket shows, over plain HTTP, for the same subscriber token.

A subscriber token names its subscriber. A server backend may use an API key instead and
name the subscriber with ``?userId=`` (``read`` scope to list, ``subscribers:write`` to change).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications.models import Subscriber
from notifications.subscriber_auth import API_KEY_OR_SUBSCRIBER, HasApiKeyOrSubscriberToken, SubscriberAuth
from realtime import buttons, counters, selectors, services, snooze
from realtime.groups import message_payload
from realtime.models import InboxMessage
from realtime.serializers import (
    BulkRequestSerializer,
    BulkResultSerializer,
    CountsQuerySerializer,
    InboxActionSerializer,
    InboxCountsSerializer,
    InboxPageSerializer,
    InboxQuerySerializer,
    ReadAllSerializer,
    SnoozeSerializer,
    UserIdQuerySerializer,
    encode_cursor,
)

USER_ID_PARAM = OpenApiParameter(
    "userId", str, description="The subscriber, when calling with an API key instead of a subscriber token."
)
ACTIONS = {
    "read": services.mark_read,
    "seen": services.mark_seen,
    "archive": services.archive,
    "unsnooze": snooze.unsnooze,
}


class InboxBaseView(APIView):
    authentication_classes = API_KEY_OR_SUBSCRIBER
    permission_classes = [HasApiKeyOrSubscriberToken]
    required_scopes = {"GET": "read", "POST": "subscribers:write"}

    def subscriber(self, request: Request) -> Subscriber:
        """The token's own subscriber; with an API key, the one ``?userId=`` names."""
        query = UserIdQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        user_id = query.validated_data.get("userId", "")
        if isinstance(request.auth, SubscriberAuth):
            if user_id and user_id != request.auth.subscriber.user_id:
                raise PermissionDenied("A subscriber token reads and changes only its own inbox.")
            return request.auth.subscriber
        if not user_id:
            raise ValidationError({"userId": ["Required with an API key; a subscriber token names its own."]})
        return get_object_or_404(Subscriber, user_id=user_id)


class InboxListView(InboxBaseView):
    @extend_schema(parameters=[InboxQuerySerializer, USER_ID_PARAM], responses={200: InboxPageSerializer})
    def get(self, request: Request) -> Response:
        query = InboxQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        subscriber = self.subscriber(request)
        messages, next_before = selectors.inbox_page(
            subscriber.pk,
            status=query.validated_data["status"],
            before_id=query.validated_data.get("cursor"),
            limit=query.validated_data["limit"],
            event_types=query.validated_data.get("eventType", []),
            tags=query.validated_data.get("tags", []),
        )
        return Response(
            {
                "messages": [message_payload(m) for m in messages],
                "nextCursor": encode_cursor(next_before) if next_before else None,
                **selectors.inbox_counts(subscriber.pk),
            }
        )


class InboxCountsView(InboxBaseView):
    """The inbox's counts and, with ``?tabs=``, each tab's: counter rows, never an aggregate."""

    @extend_schema(parameters=[CountsQuerySerializer, USER_ID_PARAM], responses={200: InboxCountsSerializer})
    def get(self, request: Request) -> Response:
        query = CountsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        subscriber_id = self.subscriber(request).pk
        body = selectors.inbox_counts(subscriber_id)
        if "tabs" in query.validated_data:
            body["tabs"] = counters.tab_counts(subscriber_id, query.validated_data["tabs"])
        return Response(body)


class InboxBulkView(InboxBaseView):
    """``POST /api/inbox/bulk``: one action over a filter or up to 1,000 ids, in short
    batches; the subscriber's sockets get one ``counts`` change at the end."""

    @extend_schema(
        request=BulkRequestSerializer, parameters=[USER_ID_PARAM], responses={200: BulkResultSerializer}
    )
    def post(self, request: Request) -> Response:
        bulk = BulkRequestSerializer(data=request.data)
        bulk.is_valid(raise_exception=True)
        subscriber = self.subscriber(request)
        action, wanted = bulk.validated_data["action"], bulk.validated_data.get("filter")
        if wanted is None:
            rows = InboxMessage.objects.filter(id__in=bulk.validated_data["ids"])
            details: dict[str, Any] = {}
        else:
            rows = selectors.filtered(
                subscriber.pk,
                status=wanted["status"],
                event_types=wanted.get("eventType", []),
                tags=wanted.get("tags", []),
                before=wanted.get("before"),
            )
            details = {"filter": request.data.get("filter")}
        updated, change = services.bulk_change(subscriber.pk, action, rows=rows, details=details)
        return Response({"updated": updated, **change.counts})


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Conflicts with the message's state."


class InboxMessageChangeView(InboxBaseView):
    """A change of one message, answered as ``{"message", ...counts}``; what the services
    refuse becomes the matching HTTP answer."""

    def change(
        self, request: Request, message_id: str, do: Callable[[int], services.InboxChange]
    ) -> Response:
        subscriber = self.subscriber(request)
        try:
            change = do(subscriber.pk)
            # Deleted by a concurrent request since: as gone as one that never was.
            message = selectors.inbox_message(subscriber.pk, int(message_id))
        except (services.MessageNotFound, InboxMessage.DoesNotExist):
            raise NotFound("No message with this id in this inbox.") from None
        except snooze.NotSnoozable:
            raise Conflict("An archived message cannot be snoozed; unarchive it first.") from None
        except buttons.ActionNotFound as error:
            raise NotFound(f"This message has no action {error.args[0]!r}.") from None
        return Response({"message": message_payload(message), **change.counts})


class InboxActionView(InboxMessageChangeView):
    """``POST /api/inbox/<id>/read|seen|archive|unsnooze``: idempotent; another subscriber's id is a 404."""

    @extend_schema(request=None, parameters=[USER_ID_PARAM], responses={200: InboxActionSerializer})
    def post(self, request: Request, message_id: str, action: str) -> Response:
        return self.change(
            request, message_id, lambda subscriber_id: ACTIONS[action](subscriber_id, [int(message_id)])
        )


class InboxReadAllView(InboxBaseView):
    @extend_schema(request=None, parameters=[USER_ID_PARAM], responses={200: ReadAllSerializer})
    def post(self, request: Request) -> Response:
        change = services.mark_all_read(self.subscriber(request).pk)
        body: dict[str, Any] = {"updated": change.details["updated"], **change.counts}
        return Response(body)


class InboxSnoozeView(InboxMessageChangeView):
    """``POST /api/inbox/<id>/snooze``: out of the inbox and its counts until ``until`` (or for
    ``duration``); then back, unread and unseen, pushed to every socket as ``resurfaced``."""

    @extend_schema(
        request=SnoozeSerializer, parameters=[USER_ID_PARAM], responses={200: InboxActionSerializer}
    )
    def post(self, request: Request, message_id: str) -> Response:
        body = SnoozeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        until = body.validated_data["until"]
        return self.change(
            request, message_id, lambda subscriber_id: snooze.snooze(subscriber_id, [int(message_id)], until)
        )


class InboxCompleteActionView(InboxMessageChangeView):
    """``POST /api/inbox/<id>/actions/<key>``: the button is done (``completedAt``) and the
    message read; idempotent."""

    @extend_schema(request=None, parameters=[USER_ID_PARAM], responses={200: InboxActionSerializer})
    def post(self, request: Request, message_id: str, key: str) -> Response:
        return self.change(
            request,
            message_id,
            lambda subscriber_id: buttons.complete_action(subscriber_id, int(message_id), key),
        )
