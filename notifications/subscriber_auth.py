"""Subscriber-token authentication for the end-user endpoints (preferences, inbox).

``Authorization: Bearer <token>`` where the token is one ``POST /api/subscribers/<id>/token``
minted; API keys start with ``rk_`` and are left to ``ApiKeyAuthentication``, so a view can
accept both and tell them apart by the type of ``request.auth``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from notifications.authentication import ApiKeyAuthentication, raw_key_from
from notifications.models import ApiKey, Subscriber
from notifications.permissions import HasApiKey
from notifications.subscriber_tokens import subscriber_id_from_token


@dataclass(frozen=True)
class SubscriberAuth:
    """``request.auth`` of a request made with a subscriber token."""

    subscriber: Subscriber


class SubscriberTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[None, SubscriberAuth] | None:
        raw = raw_key_from(request)
        if raw is None or raw.startswith("rk_"):
            return None
        subscriber_id = subscriber_id_from_token(raw)
        subscriber = Subscriber.objects.filter(pk=subscriber_id).first() if subscriber_id else None
        if subscriber is None:
            raise exceptions.AuthenticationFailed("Invalid or expired subscriber token.")
        return (None, SubscriberAuth(subscriber))

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="relay"'


# What a view that serves both server backends and end users lists in authentication_classes.
API_KEY_OR_SUBSCRIBER = [ApiKeyAuthentication, SubscriberTokenAuthentication]


class HasApiKeyOrSubscriberToken(BasePermission):
    """An API key with the scope the method needs, or any valid subscriber token.

    What a subscriber may touch (only their own rows) is the view's business: it scopes
    its querysets to ``request.auth.subscriber``.
    """

    message = "Use an API key with the needed scope, or a subscriber token."

    def has_permission(self, request: Request, view: Any) -> bool:
        if isinstance(request.auth, ApiKey):
            return HasApiKey().has_permission(request, view)
        return isinstance(request.auth, SubscriberAuth)


class SubscriberTokenScheme(OpenApiAuthenticationExtension):
    """Names the subscriber token in the OpenAPI schema (``GET /api/schema``)."""

    target_class = "notifications.subscriber_auth.SubscriberTokenAuthentication"
    name = "subscriberToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "From POST /api/subscribers/<userId>/token: the subscriber's own data only.",
        }
