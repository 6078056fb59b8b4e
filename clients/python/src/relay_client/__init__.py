"""Relay's Python client: ``Relay`` (sync) and ``AsyncRelay`` (async) with the same methods,
typed errors, retries that honour ``Retry-After``, page iterators, the inbox WebSocket and a
Standard Webhooks verifier. ``relay_client.django.notify`` sends on transaction commit."""

from relay_client import models
from relay_client._http import RetryPolicy
from relay_client._ops import new_event_id
from relay_client.client import AsyncRelay, Relay
from relay_client.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    RelayConnectionError,
    RelayError,
    RetryableError,
    ServerError,
    Unauthorized,
    Unavailable,
)
from relay_client.realtime import InboxSocket
from relay_client.webhooks import WebhookVerificationError, WebhookVerifier, verify_webhook

__all__ = [
    "AsyncRelay",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "InboxSocket",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "Relay",
    "RelayConnectionError",
    "RelayError",
    "RetryPolicy",
    "RetryableError",
    "ServerError",
    "Unauthorized",
    "Unavailable",
    "WebhookVerificationError",
    "WebhookVerifier",
    "models",
    "new_event_id",
    "verify_webhook",
]
