"""Preference and quiet-hours shapes of API.md (camelCase), with the checks a client needs."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from notifications.serializers import EVENT_TYPE_RE, ChannelField, StrictSerializer, validate_timezone
from preferences.models import ANY, WEEKDAYS, Preference, QuietHours

TIME_FORMAT = "%H:%M:%S"
MAX_BULK = 100


def _time_field(source: str) -> serializers.TimeField:
    return serializers.TimeField(
        source=source,
        format=TIME_FORMAT,
        input_formats=[TIME_FORMAT, "%H:%M"],
        required=False,
        allow_null=True,
    )


class PreferenceSerializer(StrictSerializer):
    id = serializers.IntegerField(read_only=True)
    userId = serializers.CharField(max_length=128, required=False)
    channel = ChannelField(extra=(ANY,))
    eventType = serializers.CharField(source="event_type", max_length=200)
    enabled = serializers.BooleanField(default=True)
    quietHoursStart = _time_field("quiet_hours_start")
    quietHoursEnd = _time_field("quiet_hours_end")
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)

    def to_representation(self, instance: Preference) -> dict[str, Any]:
        return {
            "id": instance.pk,
            "userId": instance.subscriber.user_id,
            "channel": instance.channel,
            "eventType": instance.event_type,
            "enabled": instance.enabled,
            "quietHoursStart": _time(instance.quiet_hours_start),
            "quietHoursEnd": _time(instance.quiet_hours_end),
            "createdAt": serializers.DateTimeField().to_representation(instance.created_at),
            "updatedAt": serializers.DateTimeField().to_representation(instance.updated_at),
        }

    def validate_eventType(self, value: str) -> str:
        if value != ANY and not EVENT_TYPE_RE.match(value):
            raise serializers.ValidationError(
                "Use an event type such as 'user.signup', or '*' for all types."
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start = attrs.get("quiet_hours_start", getattr(self.instance, "quiet_hours_start", None))
        end = attrs.get("quiet_hours_end", getattr(self.instance, "quiet_hours_end", None))
        if (start is None) != (end is None):
            message = "Give both quietHoursStart and quietHoursEnd, or neither."
            raise serializers.ValidationError({"quietHoursStart": [message], "quietHoursEnd": [message]})
        if start is not None and start == end:
            raise serializers.ValidationError({"quietHoursEnd": ["Must differ from quietHoursStart."]})
        return attrs


class PreferenceUpdateSerializer(PreferenceSerializer):
    """PATCH: what a row says may change, not which row it is."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            fixed = sorted({"userId", "channel", "eventType"} & set(data))
            if fixed:
                raise serializers.ValidationError(
                    {name: ["Cannot be changed; delete the row and create another."] for name in fixed}
                )
        return super().to_internal_value(data)


class BulkItemSerializer(PreferenceSerializer):
    userId = None  # type: ignore[assignment]  # the envelope names the subscriber once


class BulkSerializer(StrictSerializer):
    userId = serializers.CharField(max_length=128, required=False)
    preferences = BulkItemSerializer(many=True, allow_empty=False, max_length=MAX_BULK)


class QuietHoursSerializer(StrictSerializer):
    userId = serializers.CharField(max_length=128, required=False)
    start = serializers.TimeField(format=TIME_FORMAT, input_formats=[TIME_FORMAT, "%H:%M"])
    end = serializers.TimeField(format=TIME_FORMAT, input_formats=[TIME_FORMAT, "%H:%M"])
    timezone = serializers.CharField(
        required=False, allow_blank=True, max_length=64, help_text="IANA zone; empty: the subscriber's."
    )
    days = serializers.ListField(
        child=serializers.ChoiceField(choices=WEEKDAYS),
        required=False,
        max_length=7,
        help_text="Weekdays the window starts on, Monday = 0; empty: every day.",
    )
    enabled = serializers.BooleanField(default=True)

    def to_representation(self, instance: QuietHours) -> dict[str, Any]:
        return {
            "userId": instance.subscriber.user_id,
            "start": _time(instance.start),
            "end": _time(instance.end),
            "timezone": instance.timezone or instance.subscriber.timezone,
            "days": instance.days,
            "enabled": instance.enabled,
        }

    def validate_timezone(self, value: str) -> str:
        return validate_timezone(value) if value else value

    def validate_days(self, value: list[int]) -> list[int]:
        return sorted(set(value))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["start"] == attrs["end"]:
            raise serializers.ValidationError({"end": ["Must differ from start."]})
        return attrs


def _time(value: Any) -> str | None:
    return value.strftime(TIME_FORMAT) if value is not None else None
