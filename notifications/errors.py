"""One error shape for clients: ``{"errors": {field: [messages]}}`` for bad input."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ServiceUnavailable(exceptions.APIException):
    status_code = 503
    default_detail = "The event could not be stored durably; retry later."
    default_code = "unavailable"

    def __init__(self, detail: str | None = None, retry_after: int = 5) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


def relay_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, exceptions.ParseError):
        exc = exceptions.ValidationError({"body": [str(exc.detail)]})
    if isinstance(exc, OperationalError | InterfaceError):  # the database is down or restarting
        exc = ServiceUnavailable(
            "The database is unavailable; retry later.", settings.RELAY_RETRY_AFTER_SECONDS
        )
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = response.data
        if not isinstance(detail, dict):
            detail = {"non_field_errors": detail}
        response.data = {"errors": detail}
    if isinstance(exc, ServiceUnavailable):
        response["Retry-After"] = str(exc.retry_after)
    return response
