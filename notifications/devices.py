"""``/api/subscribers/<userId>/devices``: the push tokens a subscriber's apps register."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications.device_services import register_device, remove_device
from notifications.models import Device, Subscriber
from notifications.serializers import StrictSerializer


class DeviceSerializer(StrictSerializer):
    token = serializers.CharField(max_length=4096)
    platform = serializers.ChoiceField(choices=[p for p, _ in Device.PLATFORMS], default="android")
    active = serializers.BooleanField(read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    lastSeenAt = serializers.DateTimeField(source="last_seen_at", read_only=True)


class DeviceTokenSerializer(StrictSerializer):
    token = serializers.CharField(max_length=4096)


class DeviceListSerializer(serializers.Serializer):
    devices = DeviceSerializer(many=True)


class SubscriberDevicesView(APIView):
    """List (read), register (POST, 201 new / 200 known) or remove (DELETE) a push token."""

    required_scopes = {"POST": "subscribers:write", "DELETE": "subscribers:write"}

    @extend_schema(responses={200: DeviceListSerializer})
    def get(self, request: Request, user_id: str) -> Response:
        subscriber = get_object_or_404(Subscriber, user_id=user_id)
        devices = subscriber.devices.order_by("-active", "-last_seen_at")
        return Response({"devices": DeviceSerializer(devices, many=True).data})

    @extend_schema(request=DeviceSerializer, responses={200: DeviceSerializer, 201: DeviceSerializer})
    def post(self, request: Request, user_id: str) -> Response:
        subscriber = get_object_or_404(Subscriber, user_id=user_id)
        serializer = DeviceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        device, created = register_device(subscriber, **serializer.validated_data)
        return Response(
            DeviceSerializer(device).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(request=DeviceTokenSerializer, responses={204: None})
    def delete(self, request: Request, user_id: str) -> Response:
        subscriber = get_object_or_404(Subscriber, user_id=user_id)
        serializer = DeviceTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if not remove_device(subscriber, serializer.validated_data["token"]):
            return Response({"detail": "This subscriber has no device with this token."}, status=404)
        return Response(status=status.HTTP_204_NO_CONTENT)
