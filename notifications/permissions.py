"""Scope checks: a view names the scope each HTTP method needs in ``required_scopes``."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from notifications.models import ApiKey

READ_METHODS = {"GET", "HEAD", "OPTIONS"}


def scope_for(request: Request, view: Any) -> str:
    scopes: dict[str, str] = getattr(view, "required_scopes", {})
    if request.method in scopes:
        return scopes[request.method]
    return "read" if request.method in READ_METHODS else scopes.get("*", "events:write")


class HasApiKey(BasePermission):
    message = "This API key lacks the scope this request needs."

    def has_permission(self, request: Request, view: Any) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return False
        return scope_for(request, view) in key.scopes
