"""Typed errors: one class per HTTP answer a caller handles differently.

Every error carries the status and the decoded body, so nothing the server said is lost.
"""

from __future__ import annotations

from typing import Any


class RelayError(Exception):
    """Base of every error this client raises."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class RelayConnectionError(RelayError):
    """No HTTP answer at all (connection refused, reset, timed out), after the retries allowed."""


class BadRequest(RelayError):
    """400: ``errors`` maps each field the server refused to its messages."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message, status, body)
        raw = body.get("errors") if isinstance(body, dict) else None
        self.errors: dict[str, list[str]] = raw if isinstance(raw, dict) else {}


class Unauthorized(RelayError):
    """401: the API key or subscriber token is missing, wrong, revoked or expired."""


class Forbidden(RelayError):
    """403: authenticated, but not allowed (a key without the scope, another subscriber's data)."""


class NotFound(RelayError):
    """404."""


class Conflict(RelayError):
    """409: e.g. an ``eventId`` reused with another body (``body`` has both fingerprints)."""


class PayloadTooLarge(RelayError):
    """413: the body is over the server's limit (64 KiB an event)."""


class RetryableError(RelayError):
    """An answer that says "later": ``retry_after`` is the server's wait in seconds, if it gave one."""

    def __init__(
        self, message: str, status: int | None = None, body: Any = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status, body)
        self.retry_after = retry_after


class RateLimited(RetryableError):
    """429, still refused after the retries allowed."""


class Unavailable(RetryableError):
    """503 (e.g. the event could not be stored durably), still refused after the retries allowed."""


class ServerError(RelayError):
    """Any other 5xx."""


ERRORS_BY_STATUS: dict[int, type[RelayError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
}
