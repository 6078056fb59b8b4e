"""JSON parsing with a body-size limit that answers 413, not Django's generic 400."""

from __future__ import annotations

from typing import Any

import orjson
from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.parsers import BaseParser


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."
    default_code = "too_large"


class LimitedJSONParser(BaseParser):
    """Parse JSON with orjson, refusing bodies over the view's ``max_body_bytes``."""

    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        view = (parser_context or {}).get("view")
        limit = getattr(view, "max_body_bytes", settings.RELAY_MAX_EVENT_BYTES)
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise RequestTooLarge(f"Request body exceeds {limit} bytes.")
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise RequestTooLarge(f"Request body exceeds {limit} bytes.")
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise exceptions.ParseError(f"Malformed JSON: {error}") from error
        if b"\\u0000" in body and _has_nul(data):  # PostgreSQL text and jsonb cannot store NUL
            raise exceptions.ParseError("Strings must not contain NUL (\\u0000) characters.")
        return data


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False
