"""Deliveries as the API shows them (with the why-trace), an event with its deliveries, an event
in the activity feed with its delivery summary, query parameters of the deliveries and events
lists, and the detail shape with the attempt log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from deliveries.models import Delivery, DeliveryAttempt, DeliveryStatus, DeliveryTransition
from deliveries.selectors import DeliveryFilters
from notifications.models import PRIORITY_CHOICES, Event
from notifications.serializers import ChannelField, StrictSerializer

# Longest range the stats API buckets, so one request never asks for thousands of buckets.
MAX_BUCKETED_RANGE = {"hour": timedelta(days=31), "day": timedelta(days=366)}
DEFAULT_BUCKETED_RANGE = {"hour": timedelta(hours=24), "day": timedelta(days=30)}


class TransitionSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryTransition
        fields = ["transition", "status", "reason", "attempt", "at"]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    userId = serializers.CharField(source="notification.subscriber.user_id", read_only=True)
    eventId = serializers.CharField(source="notification.event.event_id", read_only=True)
    providerMessageId = serializers.CharField(source="provider_message_id")
    notBefore = serializers.DateTimeField(source="not_before")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")
    sentAt = serializers.DateTimeField(source="sent_at")
    deliveredAt = serializers.DateTimeField(source="delivered_at")
    lastError = serializers.CharField(source="last_error")
    # The why-trace: what routing decided, why, by which rule and when (stored once)...
    decision = serializers.CharField()
    decisionReason = serializers.CharField(source="decision_reason")
    decisionRule = serializers.CharField(source="decision_rule")
    decidedAt = serializers.DateTimeField(source="created_at")
    # ...and every transition since (deliveries/lifecycle.py).
    timeline = TransitionSerializer(many=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "eventId",
            "userId",
            "channel",
            "status",
            "reason",
            "attempts",
            "provider",
            "providerMessageId",
            "notBefore",
            "createdAt",
            "updatedAt",
            "sentAt",
            "deliveredAt",
            "lastError",
            "decision",
            "decisionReason",
            "decisionRule",
            "decidedAt",
            "timeline",
        ]
        read_only_fields = fields


class EventNotificationSerializer(serializers.Serializer):
    """One recipient of the event (a topic fans out to many) with a delivery per channel."""

    id = serializers.IntegerField()
    userId = serializers.CharField()
    createdAt = serializers.DateTimeField()
    deliveries = DeliverySerializer(many=True)


class EventFieldsSerializer(serializers.ModelSerializer):
    """An event's fields under their API (camelCase) names, for the event's page and the feed."""

    eventId = serializers.CharField(source="event_id")
    eventType = serializers.CharField(source="event_type")
    userId = serializers.CharField(source="user_id")
    scheduledAt = serializers.DateTimeField(source="scheduled_at", allow_null=True)
    expiresAt = serializers.DateTimeField(source="expires_at", allow_null=True)
    acceptedAt = serializers.DateTimeField(source="accepted_at")

    class Meta:
        model = Event
        fields = [
            "eventId",
            "eventType",
            "userId",
            "topic",
            "channels",
            "priority",
            "locale",
            "scheduledAt",
            "expiresAt",
            "acceptedAt",
        ]
        read_only_fields = fields


class EventDetailSerializer(EventFieldsSerializer):
    status = serializers.SerializerMethodField()
    notifications = serializers.SerializerMethodField()
    runs = serializers.SerializerMethodField(
        help_text="The event's workflow runs, each with its steps (filled in through the "
        "event_detail signal by the workflows app; empty for an event type without a workflow)."
    )

    class Meta(EventFieldsSerializer.Meta):
        fields = [*EventFieldsSerializer.Meta.fields, "data", "metadata", "status", "notifications", "runs"]
        read_only_fields = fields

    def get_status(self, event: Event) -> str:
        return "processed"

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_runs(self, event: Event) -> list[dict[str, Any]]:
        return []

    @extend_schema_field(EventNotificationSerializer(many=True))
    def get_notifications(self, event: Event) -> list[dict[str, Any]]:
        result = []
        for notification in event.notifications.all():
            deliveries = sorted(notification.deliveries.all(), key=lambda d: d.channel)
            result.append(
                {
                    "id": notification.id,
                    "userId": notification.subscriber.user_id,
                    "createdAt": serializers.DateTimeField().to_representation(notification.created_at),
                    "deliveries": DeliverySerializer(deliveries, many=True).data,
                }
            )
        return result


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


class EventListParamsSerializer(DeliveryListParamsSerializer):
    """GET /api/events takes the deliveries list's parameters; these say what they mean for events."""

    userId = serializers.CharField(
        max_length=128,
        required=False,
        help_text="events with a notification for this subscriber (a topic's events included)",
    )
    channel = ChannelField(required=False, help_text="events having a delivery on this channel")
    status = serializers.ChoiceField(
        choices=DeliveryStatus.values,
        required=False,
        help_text="events having a delivery in this status (with channel: a delivery on that channel in it)",
    )
    since = serializers.DateTimeField(required=False, help_text="stored at or after (ISO 8601)")
    until = serializers.DateTimeField(required=False, help_text="stored before (ISO 8601)")


class DeliverySummarySerializer(serializers.Serializer):
    total = serializers.IntegerField()
    byStatus = serializers.DictField(child=serializers.IntegerField(), help_text="status -> deliveries")
    byChannel = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField()),
        help_text="channel -> status -> deliveries",
    )


class EventActivitySerializer(EventFieldsSerializer):
    """One event of the activity feed: what was sent, to whom, and how its deliveries stand.
    Its data and metadata are left to GET /api/events/<eventId>, so a page stays small."""

    # deliverySummary comes from the context (``summaries``: event pk -> summary), computed for
    # the whole page by one query (selectors.delivery_summaries).

    # The request's choices, so the schema has one enum for a priority sent and listed.
    priority = serializers.ChoiceField(choices=[value for value, _ in PRIORITY_CHOICES])
    channels = serializers.ListField(child=serializers.CharField())
    createdAt = serializers.DateTimeField(source="created_at")
    deliverySummary = serializers.SerializerMethodField()

    class Meta(EventFieldsSerializer.Meta):
        fields = [*EventFieldsSerializer.Meta.fields, "createdAt", "deliverySummary"]
        read_only_fields = fields

    @extend_schema_field(DeliverySummarySerializer)
    def get_deliverySummary(self, event: Event) -> dict[str, Any]:
        summary: dict[str, Any] = self.context["summaries"][event.pk]
        return summary


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


class LatencySerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Deliveries sent on this channel.")
    p50 = serializers.FloatField(allow_null=True, help_text="Created to sent, milliseconds.")
    p95 = serializers.FloatField(allow_null=True)
    p99 = serializers.FloatField(allow_null=True)


class CountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    byChannel = serializers.DictField(child=serializers.IntegerField(), help_text="Count by channel.")
    byStatus = serializers.DictField(child=serializers.IntegerField(), help_text="Count by status.")


class StatsBucketSerializer(CountsSerializer):
    start = serializers.DateTimeField()


class DeliveryStatsSerializer(CountsSerializer):
    """``GET /api/deliveries/stats`` (for the schema: the view answers the selector's dict)."""

    latencyMs = serializers.DictField(child=LatencySerializer(), help_text="By channel.")
    interval = serializers.ChoiceField(choices=["hour", "day"], required=False)
    buckets = StatsBucketSerializer(many=True, required=False, help_text="Oldest first, with ?interval=.")


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
