"""API-key authentication: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from notifications.api_key_cache import find_key
from notifications.models import ApiKey, hash_api_key


def raw_key_from(request: Request) -> str | None:
    """The key from ``Authorization: Bearer <key>``, or else from ``X-API-Key``."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return None
    return request.META.get("HTTP_X_API_KEY") or None


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[None, ApiKey] | None:
        raw_key = raw_key_from(request)
        if raw_key is None or not raw_key.startswith("rk_"):
            return None
        key = find_key(hash_api_key(raw_key))
        if key is None or not key.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        now = timezone.now()
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
            # At most one write a minute per key: last-used is for humans, not for accounting.
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now  # the remembered copy too (api_key_cache)
        return (None, key)

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="relay"'


class ApiKeySchemes(OpenApiAuthenticationExtension):
    """Names the API key in the OpenAPI schema as two alternatives (either one will do), so a
    generated client sends the key in whichever header its user configures."""

    target_class = "notifications.authentication.ApiKeyAuthentication"
    name = ["apiKey", "apiKeyHeader"]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[Any]]]:
        return [{"apiKey": []}, {"apiKeyHeader": []}]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, str]]:
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key (rk_...) as `Authorization: Bearer <key>`.",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-API-Key",
                "description": "The same API key as `X-API-Key: <key>`.",
            },
        ]
