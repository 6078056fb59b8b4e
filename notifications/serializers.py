"""Validation of what clients send, and the camelCase shapes Relay answers with (API.md)."""

from __future__ import annotations

import re
import zoneinfo
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.channel_names import channel_names, unknown_channel_message
from core.tags import tag_problem
from notifications.addresses import address_errors
from notifications.models import PRIORITY_CHOICES, Subscriber
from notifications.signals import routed_elsewhere

EVENT_ID_RE = re.compile(r"^[\x21-\x7e]{1,128}$")
# An event type becomes a NATS subject token: dotted words, no wildcards or spaces.
EVENT_TYPE_RE = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
LOCALE_RE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")


class StrictSerializer(serializers.Serializer):
    """Rejects fields it does not know, so a typo is an error instead of a silent no-op."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class ChannelField(serializers.ChoiceField):
    """A registered channel's name (``settings.RELAY_CHANNELS``), or one of ``extra`` (e.g. ``*``).

    Channels are checked here, by the registry's names, rather than by model ``choices``: a
    channel added in settings needs no migration.
    """

    def __init__(self, extra: tuple[str, ...] = (), **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", {})["invalid_choice"] = unknown_channel_message()
        super().__init__(choices=[*extra, *channel_names()], **kwargs)


class EventSerializer(StrictSerializer):
    eventId = serializers.CharField(max_length=128, trim_whitespace=False)
    eventType = serializers.CharField(max_length=200)
    userId = serializers.CharField(max_length=128, required=False)
    topic = serializers.CharField(max_length=128, required=False)
    # Required unless the event type has a workflow, whose steps pick the channels (validate()).
    channels = serializers.ListField(
        child=ChannelField(), allow_empty=False, max_length=len(channel_names()), required=False
    )
    priority = serializers.ChoiceField(choices=PRIORITY_CHOICES, default="normal")
    data = serializers.DictField(
        required=False, default=dict, help_text="Any JSON object: the template variables."
    )
    metadata = serializers.DictField(
        required=False,
        default=dict,
        help_text="Any JSON object, stored and echoed back; `tags` (strings) tag the inbox message.",
    )
    locale = serializers.CharField(max_length=16, required=False)
    scheduledAt = serializers.DateTimeField(required=False)
    expiresAt = serializers.DateTimeField(required=False)
    cancellationKey = serializers.CharField(max_length=128, required=False)

    def validate_eventId(self, value: str) -> str:
        if not EVENT_ID_RE.match(value):
            raise serializers.ValidationError(
                "Use 1-128 visible ASCII characters (no spaces or control characters)."
            )
        return value

    def validate_eventType(self, value: str) -> str:
        if not EVENT_TYPE_RE.match(value):
            raise serializers.ValidationError(
                "Use letters, digits, '_' and '-', in dot-separated parts (e.g. user.signup)."
            )
        return value

    def validate_channels(self, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Each channel may appear only once.")
        return value

    def validate_metadata(self, value: dict[str, Any]) -> dict[str, Any]:
        """``metadata.tags`` become the in-app message's tags (with the template's)."""
        if "tags" in value and (problem := tag_problem(value["tags"])):
            raise serializers.ValidationError({"tags": [problem]})
        return value

    def validate_locale(self, value: str) -> str:
        if not LOCALE_RE.match(value):
            raise serializers.ValidationError("Use a BCP 47 tag such as 'en' or 'de-AT'.")
        return value

    def validate_scheduledAt(self, value: Any) -> Any:
        if value <= timezone.now():
            raise serializers.ValidationError("Must be in the future.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        has_user, has_topic = "userId" in attrs, "topic" in attrs
        if has_user == has_topic:
            message = "Give exactly one of userId and topic."
            raise serializers.ValidationError({"userId": [message], "topic": [message]})
        if "channels" not in attrs:
            if not routed_elsewhere(attrs["eventType"]):
                raise serializers.ValidationError(
                    {"channels": ["This field is required (unless the event type has a workflow)."]}
                )
            attrs["channels"] = []
        scheduled, expires = attrs.get("scheduledAt"), attrs.get("expiresAt")
        if expires is not None and expires <= (scheduled or timezone.now()):
            raise serializers.ValidationError({"expiresAt": ["Must be after scheduledAt and in the future."]})
        return attrs


@extend_schema_field(EventSerializer)
class EventBodyField(serializers.DictField):
    """An event body, checked later by ``EventSerializer`` itself (each batch item on its own,
    so one bad item does not fail the batch); an event in the schema.

    Only its being an object is checked here, and it is passed on as parsed: ``DictField``
    would copy it key by key through a child field, a tenth of the batch endpoint's time.
    """

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail("not_a_dict", input_type=type(data).__name__)
        return data


class EventBatchSerializer(StrictSerializer):
    events = serializers.ListField(
        child=EventBodyField(),
        allow_empty=False,
        max_length=settings.RELAY_MAX_BATCH_EVENTS,
    )


class AcceptedSerializer(serializers.Serializer):
    eventId = serializers.CharField()
    status = serializers.CharField()
    duplicate = serializers.BooleanField(required=False)


def validate_timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise serializers.ValidationError("Unknown IANA time zone, e.g. 'Europe/Vienna'.") from error
    return value


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "description": 'Channel name to that channel\'s address, e.g. {"webhook": "https://..."}.',
    }
)
class AddressesField(serializers.DictField):
    """Checked per channel by ``validate_addresses``; typed for the schema as a string map."""


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "properties": {
                "address": {"type": "string"},
                "reason": {"type": "string"},
                "at": {"type": "string", "format": "date-time"},
            },
        },
        "description": "By channel: an address the receiver said is gone, with the reason and time.",
    }
)
class DisabledAddressesField(serializers.DictField):
    """Written by the channels (``pipeline/channels/webhook.py``), shown as stored."""


class SubscriberSerializer(StrictSerializer):
    userId = serializers.CharField(source="user_id", read_only=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.RegexField(
        r"^\+[1-9]\d{1,14}$",
        required=False,
        allow_blank=True,
        error_messages={"invalid": "Use E.164 format, e.g. +14155550123."},
    )
    timezone = serializers.CharField(required=False, validators=[validate_timezone])
    locale = serializers.CharField(required=False, allow_blank=True, max_length=16)
    data = serializers.DictField(required=False)
    # Channel name -> address (e.g. {"webhook": "https://..."}); a PUT replaces the whole map.
    addresses = AddressesField(required=False)
    # Addresses a channel disabled because the receiver said they are gone (read-only).
    disabledAddresses = DisabledAddressesField(source="disabled_addresses", read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)

    def validate_locale(self, value: str) -> str:
        if value and not LOCALE_RE.match(value):
            raise serializers.ValidationError("Use a BCP 47 tag such as 'en' or 'de-AT'.")
        return value

    def validate_addresses(self, value: dict[str, Any]) -> dict[str, str]:
        errors = address_errors(value)
        if errors:
            raise serializers.ValidationError(errors)
        return value


def subscriber_representation(subscriber: Subscriber) -> dict[str, Any]:
    return dict(SubscriberSerializer(subscriber).data)
