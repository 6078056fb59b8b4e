"""Query parameters of the deliveries API, and the detail shape with the attempt log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from deliveries.models import DeliveryAttempt, DeliveryStatus
from deliveries.selectors import DeliveryFilters
from notifications.serializers import ChannelField, DeliverySerializer, StrictSerializer

# Longest range the stats API buckets, so one request never asks for thousands of buckets.
MAX_BUCKETED_RANGE = {"hour": timedelta(days=31), "day": timedelta(days=366)}
DEFAULT_BUCKETED_RANGE = {"hour": timedelta(hours=24), "day": timedelta(days=30)}


class DeliveryFilterSerializer(StrictSerializer):
    userId = serializers.CharField(max_length=128, required=False)
    channel = ChannelField(required=False)
    status = serializers.ChoiceField(choices=DeliveryStatus.values, required=False)
    eventType = serializers.CharField(max_length=200, required=False)
    since = serializers.DateTimeField(required=False, help_text="created at or after (ISO 8601)")
    until = serializers.DateTimeField(required=False, help_text="created before (ISO 8601)")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since is not None and until is not None and since >= until:
            raise serializers.ValidationError({"until": ["Must be after since."]})
        return attrs

    def filters(self) -> DeliveryFilters:
        data = self.validated_data
        return DeliveryFilters(
            user_id=data.get("userId"),
            channel=data.get("channel"),
            status=data.get("status"),
            event_type=data.get("eventType"),
            since=data.get("since"),
            until=data.get("until"),
        )


class DeliveryListParamsSerializer(DeliveryFilterSerializer):
    cursor = serializers.CharField(required=False)
    limit = serializers.IntegerField(min_value=1, max_value=200, required=False)


class DeliveryStatsParamsSerializer(DeliveryFilterSerializer):
    interval = serializers.ChoiceField(choices=["hour", "day"], required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """With ``interval``, the range defaults to the last day (hourly) or 30 days (daily)."""
        attrs = super().validate(attrs)
        interval = attrs.get("interval")
        if interval is None:
            return attrs
        until = attrs.get("until") or timezone.now()
        since = attrs.setdefault("since", until - DEFAULT_BUCKETED_RANGE[interval])
        if until - since > MAX_BUCKETED_RANGE[interval]:
            raise serializers.ValidationError(
                {
                    "since": [
                        f"With interval={interval} the range may span at most {MAX_BUCKETED_RANGE[interval]}."
                    ]
                }
            )
        return attrs


class AttemptSerializer(serializers.ModelSerializer):
    providerMessageId = serializers.CharField(source="provider_message_id")
    durationMs = serializers.FloatField(source="duration_ms")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = DeliveryAttempt
        fields = ["number", "provider", "outcome", "error", "providerMessageId", "durationMs", "createdAt"]
        read_only_fields = fields


class DeliveryDetailSerializer(DeliverySerializer):
    eventType = serializers.CharField(source="notification.event.event_type", read_only=True)
    content = serializers.JSONField(read_only=True)
    attemptLog = AttemptSerializer(source="attempt_log", many=True, read_only=True)

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "eventType", "content", "attemptLog"]
        read_only_fields = fields
