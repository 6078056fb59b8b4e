"""Preferences API (API.md): API keys manage anyone's rows, subscriber tokens only their own."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications.models import Subscriber
from notifications.subscriber_auth import API_KEY_OR_SUBSCRIBER, HasApiKeyOrSubscriberToken, SubscriberAuth
from preferences import services
from preferences.models import Preference, QuietHours
from preferences.serializers import (
    BulkSerializer,
    PreferenceSerializer,
    PreferenceUpdateSerializer,
    QuietHoursSerializer,
)

USER_ID = OpenApiParameter("userId", str, description="Required with an API key; a token means its own.")
WRITE_SCOPES = {m: "subscribers:write" for m in ("POST", "PUT", "PATCH", "DELETE")}


class PreferencesBase(APIView):
    authentication_classes = API_KEY_OR_SUBSCRIBER
    permission_classes = [HasApiKeyOrSubscriberToken]
    required_scopes = WRITE_SCOPES

    def target(self, request: Request, user_id: str | None) -> Subscriber:
        """The subscriber a request is about: a token's own, or the API key's ``userId``."""
        if isinstance(request.auth, SubscriberAuth):
            own = request.auth.subscriber
            if user_id not in (None, own.user_id):
                raise PermissionDenied("A subscriber token can only manage its own preferences.")
            return own
        if not user_id:
            raise ValidationError({"userId": ["Required when calling with an API key."]})
        return get_object_or_404(Subscriber, user_id=user_id)

    def visible(self, request: Request) -> QuerySet[Preference]:
        rows = Preference.objects.select_related("subscriber")
        if isinstance(request.auth, SubscriberAuth):
            return rows.filter(subscriber=request.auth.subscriber)
        return rows


def _listing(subscriber: Subscriber) -> Response:
    rows = Preference.objects.filter(subscriber=subscriber).select_related("subscriber")
    return Response({"preferences": [PreferenceSerializer(row).data for row in rows]})


class PreferenceListView(PreferencesBase):
    @extend_schema(parameters=[USER_ID], responses={200: PreferenceSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return _listing(self.target(request, request.query_params.get("userId")))

    @extend_schema(request=PreferenceSerializer, responses={201: PreferenceSerializer})
    def post(self, request: Request) -> Response:
        serializer = PreferenceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        subscriber = self.target(request, data.pop("userId", None))
        try:
            row = services.create_preference(subscriber, data)
        except services.PreferenceExists as error:
            return Response(
                {
                    "detail": "This userId already has a preference for this channel and eventType.",
                    "id": error.existing.pk,
                },
                status=status.HTTP_409_CONFLICT,
            )
        return Response(PreferenceSerializer(row).data, status=status.HTTP_201_CREATED)


class PreferenceDetailView(PreferencesBase):
    @extend_schema(responses={200: PreferenceSerializer})
    def get(self, request: Request, pk: int) -> Response:
        return Response(PreferenceSerializer(get_object_or_404(self.visible(request), pk=pk)).data)

    @extend_schema(request=PreferenceUpdateSerializer, responses={200: PreferenceSerializer})
    def patch(self, request: Request, pk: int) -> Response:
        row = get_object_or_404(self.visible(request), pk=pk)
        serializer = PreferenceUpdateSerializer(row, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return Response(PreferenceSerializer(services.update_preference(row, serializer.validated_data)).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        get_object_or_404(self.visible(request), pk=pk).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class PreferenceBulkView(PreferencesBase):
    """Create or update many rows of one subscriber at once (a settings page's "save")."""

    @extend_schema(request=BulkSerializer, responses={200: PreferenceSerializer(many=True)})
    def post(self, request: Request) -> Response:
        serializer = BulkSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscriber = self.target(request, serializer.validated_data.get("userId"))
        services.bulk_upsert(subscriber, serializer.validated_data["preferences"])
        return _listing(subscriber)


class QuietHoursView(PreferencesBase):
    """The subscriber's quiet-hours window: read, set (PUT replaces it), remove."""

    @extend_schema(parameters=[USER_ID], responses={200: QuietHoursSerializer})
    def get(self, request: Request) -> Response:
        subscriber = self.target(request, request.query_params.get("userId"))
        quiet = get_object_or_404(QuietHours.objects.select_related("subscriber"), subscriber=subscriber)
        return Response(QuietHoursSerializer(quiet).data)

    @extend_schema(request=QuietHoursSerializer, responses={200: QuietHoursSerializer})
    def put(self, request: Request) -> Response:
        serializer = QuietHoursSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = dict(serializer.validated_data)
        subscriber = self.target(request, data.pop("userId", None))
        return Response(QuietHoursSerializer(services.set_quiet_hours(subscriber, data)).data)

    @extend_schema(parameters=[USER_ID], responses={204: None})
    def delete(self, request: Request) -> Response:
        subscriber = self.target(request, request.query_params.get("userId"))
        QuietHours.objects.filter(subscriber=subscriber).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
