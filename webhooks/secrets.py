"""Endpoint secrets: made here, shown once, and the set that signs an attempt."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime, timedelta

from core.webhook_signing import SECRET_PREFIX
from webhooks.models import WebhookEndpoint

# How long a rotated-out secret keeps signing (both signatures are sent meanwhile).
ROTATION_OVERLAP = timedelta(hours=24)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> tuple[str, ...]:
    """The current secret, and the previous one while its 24 hours last."""
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        return (endpoint.secret, endpoint.previous_secret)
    return (endpoint.secret,)
