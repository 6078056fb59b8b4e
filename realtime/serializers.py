"""Input of the inbox API (query filters, cursors) and the shapes it answers with."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.tags import MAX_TAG_LENGTH, MAX_TAGS
from realtime.counters import TabFilter, parse_tab_filter
from realtime.models import PRIORITIES
from realtime.selectors import STATUS_FILTERS
from realtime.services import ACTIONS
from realtime.snooze import MAX_SNOOZE, MIN_SNOOZE

# Named messages of one bulk action, and tabs of one counts request, at most.
MAX_BULK_IDS = 1000
MAX_TABS = 20
MAX_ID = 2**63 - 1

CURSOR_PREFIX = "m"


def encode_cursor(before_id: int) -> str:
    """Opaque to clients, so the keyset behind it can change without breaking them."""
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{before_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    number = raw.removeprefix(CURSOR_PREFIX)
    if not raw.startswith(CURSOR_PREFIX) or not number.isdigit():
        return None
    return int(number)


class UserIdQuerySerializer(serializers.Serializer):
    """``?userId=``: CharField refuses NUL characters, which the database cannot hold."""

    userId = serializers.CharField(required=False, max_length=128)


class CommaListField(serializers.ListField):
    """A list given as repeated parameters (``?tags=a&tags=b``), comma-separated values
    (``?tags=a,b``) or, in a JSON body, a list or one comma-separated string."""

    def to_internal_value(self, data: Any) -> list[Any]:
        if isinstance(data, str):
            data = [data]
        if isinstance(data, list) and all(isinstance(item, str) for item in data):
            data = [part.strip() for item in data for part in item.split(",") if part.strip()]
        return super().to_internal_value(data)


def event_types_field() -> CommaListField:
    return CommaListField(child=serializers.CharField(max_length=200), required=False, max_length=50)


def tags_field() -> CommaListField:
    return CommaListField(
        child=serializers.CharField(max_length=MAX_TAG_LENGTH), required=False, max_length=MAX_TAGS
    )


class InboxQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=list(STATUS_FILTERS), default="inbox")
    cursor = serializers.CharField(required=False, max_length=64)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)
    eventType = event_types_field()
    tags = tags_field()

    def validate_cursor(self, value: str) -> int:
        before_id = decode_cursor(value)
        if before_id is None:
            raise serializers.ValidationError("Not a cursor this API returned (use nextCursor as given).")
        return before_id


class CountsSerializer(serializers.Serializer):
    unreadCount = serializers.IntegerField()
    unseenCount = serializers.IntegerField()
    totalCount = serializers.IntegerField()
    unreadByPriority = serializers.DictField(
        child=serializers.IntegerField(), help_text=", ".join(PRIORITIES)
    )


class TabCountsSerializer(serializers.Serializer):
    unreadCount = serializers.IntegerField()
    unseenCount = serializers.IntegerField()
    totalCount = serializers.IntegerField()


class InboxCountsSerializer(CountsSerializer):
    tabs = serializers.DictField(child=TabCountsSerializer(), required=False)


class CountsQuerySerializer(serializers.Serializer):
    """``?tabs=<name>:<filter>,...``; a filter is ``all``, ``tag=<tag>``,
    ``type=<eventType>[|<eventType>...]`` or ``priority=<priority>[|<priority>...]``."""

    tabs = serializers.CharField(required=False, max_length=4000)

    def validate_tabs(self, value: str) -> dict[str, TabFilter]:
        tabs: dict[str, TabFilter] = {}
        for item in (part.strip() for part in value.split(",")):
            name, colon, text = item.partition(":")
            if not colon or not name:
                raise serializers.ValidationError(f"{item!r}: write each tab as <name>:<filter>.")
            if name in tabs:
                raise serializers.ValidationError(f"Tab {name!r} is named twice.")
            try:
                tabs[name] = parse_tab_filter(text)
            except ValueError as error:
                raise serializers.ValidationError(str(error)) from None
        if len(tabs) > MAX_TABS:
            raise serializers.ValidationError(f"At most {MAX_TABS} tabs.")
        return tabs


class BulkFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=list(STATUS_FILTERS), default="all")
    eventType = event_types_field()
    tags = tags_field()
    before = serializers.DateTimeField(required=False, help_text="Messages created before this time.")


class BulkRequestSerializer(serializers.Serializer):
    """``filter`` or ``ids`` (at most 1,000), not both."""

    action = serializers.ChoiceField(choices=list(ACTIONS))
    filter = BulkFilterSerializer(required=False)
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        allow_empty=False,
        max_length=MAX_BULK_IDS,
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("filter" in attrs) == ("ids" in attrs):
            raise serializers.ValidationError({"filter": ["Give either filter or ids (not both)."]})
        return attrs


class BulkResultSerializer(CountsSerializer):
    updated = serializers.IntegerField()


class MessageActionSerializer(serializers.Serializer):
    """An action button (``templates_admin.actions``): a link (``url``) or one to complete."""

    key = serializers.CharField()
    label = serializers.CharField()
    url = serializers.URLField(required=False)
    variant = serializers.ChoiceField(choices=["primary", "secondary"])
    completedAt = serializers.DateTimeField(allow_null=True)


class InboxMessageSerializer(serializers.Serializer):
    """Documents ``realtime.groups.message_payload``, the one place the shape is built."""

    id = serializers.IntegerField()
    deliveryId = serializers.IntegerField()
    eventType = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField()
    actionUrl = serializers.CharField()
    data = serializers.DictField()
    createdAt = serializers.DateTimeField()
    seenAt = serializers.DateTimeField(allow_null=True)
    readAt = serializers.DateTimeField(allow_null=True)
    archivedAt = serializers.DateTimeField(allow_null=True)
    snoozedUntil = serializers.DateTimeField(allow_null=True)
    tags = serializers.ListField(child=serializers.CharField())
    priority = serializers.CharField()
    actions = MessageActionSerializer(many=True)


class InboxPageSerializer(CountsSerializer):
    messages = InboxMessageSerializer(many=True)
    nextCursor = serializers.CharField(allow_null=True)


class InboxActionSerializer(CountsSerializer):
    message = InboxMessageSerializer()


class ReadAllSerializer(CountsSerializer):
    updated = serializers.IntegerField()


DURATION_RE = re.compile(r"^(\d{1,9})([smhd])$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@extend_schema_field(
    {
        "oneOf": [{"type": "integer", "minimum": 60}, {"type": "string", "pattern": DURATION_RE.pattern}],
        "description": 'Seconds, or "<n>s|m|h|d" ("90s", "1h", "7d").',
    }
)
class DurationField(serializers.Field):
    """Seconds (a whole number) or ``"<n>s|m|h|d"`` (``"90s"``, ``"1h"``, ``"7d"``), as seconds."""

    default_error_messages = {"invalid": 'Give seconds as a number or a string such as "90s", "1h", "7d".'}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, int) and not isinstance(data, bool):
            return data
        match = DURATION_RE.match(data.strip()) if isinstance(data, str) else None
        if match is None:
            raise serializers.ValidationError(self.error_messages["invalid"], code="invalid")
        return int(match.group(1)) * UNIT_SECONDS[match.group(2)]

    def to_representation(self, value: int) -> int:
        return value


class SnoozeSerializer(serializers.Serializer):
    """``{"until": ISO 8601}`` or ``{"duration": "1h"}``: the snooze ends 60 s to 90 days from now."""

    until = serializers.DateTimeField(required=False)
    duration = DurationField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        given = [name for name in ("until", "duration") if name in attrs]
        if len(given) != 1:
            problem = "Give exactly one of until and duration" + (" (not both)." if given else ".")
            raise serializers.ValidationError({"until": [problem], "duration": [problem]})
        now = timezone.now()
        field = given[0]
        # Seconds compared before any date arithmetic, so no number can overflow a datetime.
        ahead = (attrs["until"] - now).total_seconds() if field == "until" else attrs["duration"]
        if not MIN_SNOOZE.total_seconds() <= ahead <= MAX_SNOOZE.total_seconds():
            raise serializers.ValidationError(
                {field: ["The snooze must end between 60 seconds and 90 days from now."]}
            )
        return {"until": attrs["until"] if field == "until" else now + timedelta(seconds=ahead)}
