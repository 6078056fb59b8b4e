"""/api/webhook-endpoints: status webhook endpoints, their message log and replays.

API key scopes: ``read`` to read, ``webhooks:write`` for everything else.
"""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from deliveries.views import DeliveryCursorPagination
from webhooks import services
from webhooks.models import MessageStatus, WebhookEndpoint, WebhookMessage
from webhooks.serializers import (
    WebhookCreatedEndpointSerializer,
    WebhookEndpointListSerializer,
    WebhookEndpointSerializer,
    WebhookMessageListParamsSerializer,
    WebhookMessagePageSerializer,
    WebhookMessageSerializer,
    WebhookReplayedSerializer,
    WebhookReplaySerializer,
    WebhookSecretSerializer,
)

WRITE = "webhooks:write"


def endpoint_or_404(endpoint_id: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("No webhook endpoint with this id.")
    return endpoint


def messages_of(endpoint: WebhookEndpoint) -> QuerySet[WebhookMessage]:
    return (
        WebhookMessage.objects.filter(endpoint=endpoint)
        .select_related("status_event")
        .prefetch_related("attempt_log")
    )


class EndpointListView(APIView):
    required_scopes = {"POST": WRITE}

    @extend_schema(operation_id="webhook_endpoints_list", responses={200: WebhookEndpointListSerializer})
    def get(self, request: Request) -> Response:
        return Response(
            {"endpoints": WebhookEndpointSerializer(WebhookEndpoint.objects.all(), many=True).data}
        )

    @extend_schema(
        operation_id="webhook_endpoints_create",
        request=WebhookEndpointSerializer,
        responses={201: WebhookCreatedEndpointSerializer},
    )
    def post(self, request: Request) -> Response:
        body = WebhookEndpointSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint, secret = services.create_endpoint(dict(body.validated_data))
        endpoint.secret = secret
        return Response(WebhookCreatedEndpointSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class EndpointView(APIView):
    required_scopes = {"PATCH": WRITE, "DELETE": WRITE}

    @extend_schema(operation_id="webhook_endpoints_get", responses={200: WebhookEndpointSerializer})
    def get(self, request: Request, endpoint_id: int) -> Response:
        return Response(WebhookEndpointSerializer(endpoint_or_404(endpoint_id)).data)

    @extend_schema(
        operation_id="webhook_endpoints_update",
        request=WebhookEndpointSerializer,
        responses={200: WebhookEndpointSerializer},
    )
    def patch(self, request: Request, endpoint_id: int) -> Response:
        endpoint = endpoint_or_404(endpoint_id)
        body = WebhookEndpointSerializer(endpoint, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        endpoint = services.update_endpoint(endpoint, dict(body.validated_data))
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(operation_id="webhook_endpoints_delete", responses={204: None})
    def delete(self, request: Request, endpoint_id: int) -> Response:
        services.delete_endpoint(endpoint_or_404(endpoint_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RotateSecretView(APIView):
    required_scopes = {"POST": WRITE}

    @extend_schema(
        operation_id="webhook_endpoints_rotate_secret", request=None, responses={200: WebhookSecretSerializer}
    )
    def post(self, request: Request, endpoint_id: int) -> Response:
        endpoint = endpoint_or_404(endpoint_id)
        secret = services.rotate_secret(endpoint)
        return Response({"secret": secret, "previousSecretExpiresAt": endpoint.previous_secret_expires_at})


class MessageListView(APIView):
    """The endpoint's message log, newest first, with every attempt."""

    @extend_schema(
        operation_id="webhook_messages_list",
        parameters=[WebhookMessageListParamsSerializer],
        responses={200: WebhookMessagePageSerializer},
    )
    def get(self, request: Request, endpoint_id: int) -> Response:
        params = WebhookMessageListParamsSerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        messages = messages_of(endpoint_or_404(endpoint_id))
        if "status" in params.validated_data:
            messages = messages.filter(status=params.validated_data["status"])
        paginator = DeliveryCursorPagination()
        page = paginator.paginate_queryset(messages, request, view=self)
        return paginator.get_paginated_response(WebhookMessageSerializer(page, many=True).data)


class MessageReplayView(APIView):
    """Send one message again now (same ``webhook-id``, a fresh retry budget)."""

    required_scopes = {"POST": WRITE}

    @extend_schema(
        operation_id="webhook_messages_replay", request=None, responses={202: WebhookMessageSerializer}
    )
    def post(self, request: Request, endpoint_id: int, message_id: int) -> Response:
        messages = messages_of(endpoint_or_404(endpoint_id)).filter(pk=message_id)
        if not services.replay(messages):
            raise NotFound("No message with this id at this endpoint.")
        return Response(WebhookMessageSerializer(messages.get()).data, status=status.HTTP_202_ACCEPTED)


class ReplayFailedView(APIView):
    """Send again every failed message of the endpoint created since ``since``."""

    required_scopes = {"POST": WRITE}

    @extend_schema(
        operation_id="webhook_messages_replay_failed",
        request=WebhookReplaySerializer,
        responses={202: WebhookReplayedSerializer},
    )
    def post(self, request: Request, endpoint_id: int) -> Response:
        body = WebhookReplaySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        messages = messages_of(endpoint_or_404(endpoint_id)).filter(
            status=MessageStatus.FAILED, created_at__gte=body.validated_data["since"]
        )
        return Response({"replayed": services.replay(messages)}, status=status.HTTP_202_ACCEPTED)
