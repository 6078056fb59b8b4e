"""Input of the inbox API (query filters, cursors) and the shapes it answers with."""

from __future__ import annotations

import base64
import binascii

from rest_framework import serializers

from realtime.selectors import STATUS_FILTERS

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


class InboxQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=list(STATUS_FILTERS), default="inbox")
    cursor = serializers.CharField(required=False, max_length=64)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)
    eventType = serializers.CharField(required=False, max_length=200)

    def validate_cursor(self, value: str) -> int:
        before_id = decode_cursor(value)
        if before_id is None:
            raise serializers.ValidationError("Not a cursor this API returned (use nextCursor as given).")
        return before_id


class CountsSerializer(serializers.Serializer):
    unreadCount = serializers.IntegerField()
    unseenCount = serializers.IntegerField()
    totalCount = serializers.IntegerField()


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


class InboxPageSerializer(CountsSerializer):
    messages = InboxMessageSerializer(many=True)
    nextCursor = serializers.CharField(allow_null=True)


class InboxActionSerializer(CountsSerializer):
    message = InboxMessageSerializer()


class ReadAllSerializer(CountsSerializer):
    updated = serializers.IntegerField()
