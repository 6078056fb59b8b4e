"""Topics API: a named group of subscribers that an event with ``topic`` fans out to."""

from __future__ import annotations

import re
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications import topic_services
from notifications.models import Topic, TopicMembership
from notifications.serializers import StrictSerializer

MAX_MEMBERS_PER_CALL = 1000
MAX_PAGE = 1000
KEY_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


class TopicSerializer(StrictSerializer):
    key = serializers.CharField(read_only=True)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    subscriberCount = serializers.IntegerField(read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)


class MembersSerializer(StrictSerializer):
    userIds = serializers.ListField(
        child=serializers.CharField(max_length=128), allow_empty=False, max_length=MAX_MEMBERS_PER_CALL
    )


class MembersPageSerializer(serializers.Serializer):
    userIds = serializers.ListField(child=serializers.CharField())
    next = serializers.IntegerField(
        allow_null=True, help_text="The cursor of the next page (`?after=`), or null on the last page."
    )


class MembersAddedSerializer(serializers.Serializer):
    added = serializers.IntegerField(help_text="How many of the userIds were not members yet.")
    subscriberCount = serializers.IntegerField()


class MembersRemovedSerializer(serializers.Serializer):
    removed = serializers.IntegerField(help_text="How many of the userIds were members.")
    subscriberCount = serializers.IntegerField()


def _topic_body(topic: Topic) -> dict[str, Any]:
    topic.subscriberCount = topic.memberships.count()  # type: ignore[attr-defined]
    return dict(TopicSerializer(topic).data)


def _valid_key(key: str) -> str:
    if not KEY_RE.match(key):
        raise ValidationError({"key": ["Use 1-128 letters, digits, '_', '-', '.', ':'."]})
    return key


class TopicView(APIView):
    """PUT creates (201) or renames (200) a topic; GET reads it; DELETE removes it."""

    required_scopes = {"PUT": "subscribers:write", "DELETE": "subscribers:write"}

    @extend_schema(request=TopicSerializer, responses={200: TopicSerializer, 201: TopicSerializer})
    def put(self, request: Request, key: str) -> Response:
        _valid_key(key)
        serializer = TopicSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        topic, created = topic_services.upsert_topic(key, serializer.validated_data.get("name"))
        return Response(_topic_body(topic), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(responses={200: TopicSerializer})
    def get(self, request: Request, key: str) -> Response:
        return Response(_topic_body(get_object_or_404(Topic, key=key)))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, key: str) -> Response:
        get_object_or_404(Topic, key=key).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class TopicMembersView(APIView):
    """Members in pages (``?after=<cursor>``); POST adds, DELETE removes, up to 1000 a call."""

    required_scopes = {"POST": "subscribers:write", "DELETE": "subscribers:write"}

    @extend_schema(
        parameters=[OpenApiParameter("after", int), OpenApiParameter("limit", int)],
        responses={200: MembersPageSerializer},
    )
    def get(self, request: Request, key: str) -> Response:
        topic = get_object_or_404(Topic, key=key)
        after = serializers.IntegerField(min_value=0).run_validation(request.query_params.get("after", "0"))
        limit = serializers.IntegerField(min_value=1, max_value=MAX_PAGE).run_validation(
            request.query_params.get("limit", "100")
        )
        rows = list(
            TopicMembership.objects.filter(topic=topic, pk__gt=after)
            .order_by("pk")
            .values_list("pk", "subscriber__user_id")[:limit]
        )
        return Response(
            {
                "userIds": [user_id for _, user_id in rows],
                "next": rows[-1][0] if len(rows) == limit else None,
            }
        )

    @extend_schema(request=MembersSerializer, responses={200: MembersAddedSerializer})
    def post(self, request: Request, key: str) -> Response:
        topic = get_object_or_404(Topic, key=key)
        user_ids = self._user_ids(request)
        added = topic_services.add_members(topic, user_ids)
        return Response({"added": added, "subscriberCount": topic.memberships.count()})

    @extend_schema(request=MembersSerializer, responses={200: MembersRemovedSerializer})
    def delete(self, request: Request, key: str) -> Response:
        topic = get_object_or_404(Topic, key=key)
        removed = topic_services.remove_members(topic, self._user_ids(request))
        return Response({"removed": removed, "subscriberCount": topic.memberships.count()})

    @staticmethod
    def _user_ids(request: Request) -> list[str]:
        serializer = MembersSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return list(dict.fromkeys(serializer.validated_data["userIds"]))
