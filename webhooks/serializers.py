"""Endpoint and message log bodies of /api/webhook-endpoints (camelCase, as the rest of the API)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.ssrf import url_problem
from webhooks.event_types import EVENT_TYPES
from webhooks.models import MessageStatus, WebhookAttempt, WebhookEndpoint, WebhookMessage


class WebhookEndpointSerializer(serializers.ModelSerializer):
    """An endpoint as read, and as written by POST (every field) and PATCH (any of them)."""

    url = serializers.CharField(max_length=2000)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES),
        required=False,
        help_text="Event types to receive; empty or absent: every type.",
    )
    disabledReason = serializers.CharField(source="disabled_reason", read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "events", "enabled", "disabledReason", "createdAt", "updatedAt"]
        read_only_fields = ["id"]

    def validate_url(self, value: str) -> str:
        problem = url_problem(value)
        if problem is not None:
            raise serializers.ValidationError(problem)
        return value

    def validate_events(self, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class WebhookCreatedEndpointSerializer(WebhookEndpointSerializer):
    """The answer to a create: the endpoint and its secret, shown this once."""

    secret = serializers.CharField(read_only=True, help_text="whsec_<base64>; shown only now.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class WebhookEndpointListSerializer(serializers.Serializer):
    endpoints = WebhookEndpointSerializer(many=True)


class WebhookSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The new whsec_<base64> secret, shown only now.")
    previousSecretExpiresAt = serializers.DateTimeField(
        help_text="Until then the previous secret signs every attempt too."
    )


class WebhookAttemptSerializer(serializers.ModelSerializer):
    scheduledAt = serializers.DateTimeField(source="scheduled_at")
    statusCode = serializers.IntegerField(source="status_code", allow_null=True)
    durationMs = serializers.IntegerField(source="duration_ms")

    class Meta:
        model = WebhookAttempt
        fields = ["attempt", "at", "scheduledAt", "statusCode", "durationMs", "error", "response"]
        read_only_fields = fields


class WebhookMessageSerializer(serializers.ModelSerializer):
    webhookId = serializers.CharField(source="webhook_id")
    type = serializers.CharField(source="status_event.type")
    payload = serializers.SerializerMethodField()
    nextAttemptAt = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")
    attemptLog = WebhookAttemptSerializer(source="attempt_log", many=True)

    class Meta:
        model = WebhookMessage
        fields = [
            "id",
            "webhookId",
            "type",
            "status",
            "attempts",
            "nextAttemptAt",
            "createdAt",
            "payload",
            "attemptLog",
        ]
        read_only_fields = fields

    def get_payload(self, message: WebhookMessage) -> dict[str, Any]:
        event = message.status_event
        return {"type": event.type, "timestamp": event.occurred_at.isoformat(), "data": event.data}

    def get_nextAttemptAt(self, message: WebhookMessage) -> str | None:
        if message.status != MessageStatus.PENDING:
            return None
        return message.next_attempt_at.isoformat()


class WebhookMessagePageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = WebhookMessageSerializer(many=True)


class WebhookMessageListParamsSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=MessageStatus.choices, required=False)
    cursor = serializers.CharField(required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200)


class WebhookReplaySerializer(serializers.Serializer):
    since = serializers.DateTimeField(help_text="Replay every failed message created since then.")


class WebhookReplayedSerializer(serializers.Serializer):
    replayed = serializers.IntegerField()
